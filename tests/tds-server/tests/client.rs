//! The server against the real tiberius 0.13 client: handshake, queries, parameters and results of
//! every type, bulk loads, transactions, errors, faults and counters.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use tds_server::{Fault, FaultAction, FaultMatch, Server, ServerConfig, ServerHandle};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::{Client, ColumnData, Config, EncryptionLevel, ToSql, TokenRow, Uuid};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

type Conn = Client<Compat<TcpStream>>;

const PASSWORD: &str = "Str0ng;pass\"word";

struct Fixture {
    server: ServerHandle,
    _dir: tempfile::TempDir,
}

fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::spawn(ServerConfig {
        database_file: dir.path().join("routeflow.sqlite"),
        port: 0,
        user: "sa".into(),
        password: PASSWORD.into(),
    })
    .unwrap();
    Fixture { server, _dir: dir }
}

async fn connect_with(config: Config) -> tiberius::Result<Conn> {
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    Client::connect(config, tcp.compat_write()).await
}

async fn connect(server: &ServerHandle) -> Conn {
    let config = Config::from_ado_string(&server.connection_string("routeflow")).unwrap();
    connect_with(config).await.unwrap()
}

fn server_code(error: tiberius::error::Error) -> u32 {
    match error {
        tiberius::error::Error::Server(e) => e.code(),
        other => panic!("expected a server error, got {other:?}"),
    }
}

async fn exec(client: &mut Conn, sql: &str) {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
}

async fn count(client: &mut Conn, table: &str) -> i32 {
    let stream = client
        .simple_query(format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap();
    first_int(stream).await
}

/// The first column of a result's single row, as an `int`.
async fn first_int(stream: tiberius::QueryStream<'_>) -> i32 {
    let row = stream.into_row().await.unwrap();
    row.unwrap().get::<i32, _>(0).unwrap()
}

#[tokio::test]
async fn login_checks_the_password() {
    let f = start();
    let mut client = connect(&f.server).await;
    let row = client
        .simple_query("SELECT 1 AS one")
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i32, _>("one"), Some(1));

    let mut config = Config::new();
    config.host("127.0.0.1");
    config.port(f.server.port());
    config.authentication(tiberius::AuthMethod::sql_server("sa", "wrong"));
    config.encryption(EncryptionLevel::NotSupported);
    let error = connect_with(config).await.unwrap_err();
    assert_eq!(server_code(error), 18456);
    assert_eq!(f.server.stats().connections, 1);
}

#[tokio::test]
async fn batches_answer_every_statement_in_order() {
    let f = start();
    let mut client = connect(&f.server).await;
    let results = client
        .simple_query(
            "CREATE TABLE t (id int NOT NULL, name nvarchar(20)); \
             INSERT INTO t VALUES (1, N'a'), (2, N'b'); \
             SELECT id FROM t ORDER BY id; \
             SELECT name FROM t WHERE id = 2",
        )
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0]
            .iter()
            .map(|r| r.get::<i32, _>(0).unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(results[1][0].get::<&str, _>(0), Some("b"));

    let done = client
        .execute("INSERT INTO t VALUES (@P1, @P2)", &[&3i32, &"c"])
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), &[1]);
    let done = client
        .execute("UPDATE t SET name = N'x'; DELETE FROM t WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), &[3, 1]);
}

/// The `all_types` table and one value of each column, as the client sends it.
const ALL_TYPES: &str = "CREATE TABLE all_types (id int NOT NULL, b bit, ti tinyint, si smallint, i int, bi bigint, \
     r real, f float, d decimal(38,10), dmax decimal(38,0), m money, sm smallmoney, c char(5), vc varchar(50), \
     vcm varchar(max), nc nchar(3), nvc nvarchar(50), nvcm nvarchar(max), vb varbinary(16), vbm varbinary(max), \
     dt date, tm time(7), dtt datetime, sdt smalldatetime, dt2 datetime2(7), dto datetimeoffset(7), g uniqueidentifier)";

const LAST_TICKS: u64 = 863_999_999_999;

fn guid() -> Uuid {
    Uuid::parse_str("6f9619ff-8b86-d011-b42d-00c04fc964ff").unwrap()
}

/// Values for every column but `id`, in column order, as sent.
fn sent_values() -> Vec<ColumnData<'static>> {
    let max38 = 10i128.pow(38) - 1;
    vec![
        ColumnData::Bit(Some(true)),
        ColumnData::U8(Some(255)),
        ColumnData::I16(Some(i16::MIN)),
        ColumnData::I32(Some(i32::MAX)),
        ColumnData::I64(Some(i64::MIN)),
        ColumnData::F32(Some(1.5)),
        ColumnData::F64(Some(-2.5e300)),
        ColumnData::Numeric(Some(Numeric::new_with_scale(-(max38 / 10), 10))),
        ColumnData::Numeric(Some(Numeric::new_with_scale(max38, 0))),
        ColumnData::Numeric(Some(Numeric::new_with_scale(-9_223_372_036_854_775_808, 4))),
        ColumnData::Numeric(Some(Numeric::new_with_scale(2_147_483_647, 4))),
        ColumnData::String(Some("abc".into())),
        ColumnData::String(Some("Ñandú €".into())),
        ColumnData::String(Some("x".repeat(10_000).into())),
        ColumnData::String(Some("ñ".into())),
        ColumnData::String(Some("Ñ😀字".into())),
        ColumnData::String(Some("😀字".repeat(3_000).into())),
        ColumnData::Binary(Some(vec![0, 1, 255].into())),
        ColumnData::Binary(Some(vec![7; 10_000].into())),
        ColumnData::Date(Some(Date::new(0))),
        ColumnData::Time(Some(Time::new(LAST_TICKS, 7))),
        ColumnData::DateTime(Some(DateTime::new(45_000, 300 * 3_600 + 1))),
        ColumnData::SmallDateTime(Some(SmallDateTime::new(45_000, 61))),
        ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(3_652_058),
            Time::new(LAST_TICKS, 7),
        ))),
        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
            DateTime2::new(Date::new(738_000), Time::new(10_000_000, 7)),
            330,
        ))),
        ColumnData::Guid(Some(guid())),
    ]
}

/// What reading `sent_values` back gives: fixed-width strings padded, money as a float.
fn read_values() -> Vec<ColumnData<'static>> {
    let mut values = sent_values();
    values[9] = ColumnData::F64(Some(i64::MIN as f64 / 1e4));
    values[10] = ColumnData::F64(Some(214_748.364_7));
    values[11] = ColumnData::String(Some("abc  ".into()));
    values[14] = ColumnData::String(Some("ñ  ".into()));
    values
}

async fn read_row(client: &mut Conn, id: i32) -> Vec<ColumnData<'static>> {
    let row = client
        .query("SELECT * FROM all_types WHERE id = @P1", &[&id])
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("row {id} missing"));
    row.cells().skip(1).map(|(_, value)| value.clone()).collect()
}

fn assert_values(got: &[ColumnData<'static>], want: &[ColumnData<'static>]) {
    assert_eq!(got.len(), want.len());
    for (i, (got, want)) in got.iter().zip(want).enumerate() {
        assert_eq!(got, want, "column {}", i + 1);
    }
}

fn is_null(value: &ColumnData<'_>) -> bool {
    matches!(
        value,
        ColumnData::Bit(None)
            | ColumnData::U8(None)
            | ColumnData::I16(None)
            | ColumnData::I32(None)
            | ColumnData::I64(None)
            | ColumnData::F32(None)
            | ColumnData::F64(None)
            | ColumnData::Numeric(None)
            | ColumnData::String(None)
            | ColumnData::Binary(None)
            | ColumnData::Date(None)
            | ColumnData::Time(None)
            | ColumnData::DateTime(None)
            | ColumnData::SmallDateTime(None)
            | ColumnData::DateTime2(None)
            | ColumnData::DateTimeOffset(None)
            | ColumnData::Guid(None)
    )
}

/// A NULL of the same kind, for a NULL parameter of each type.
fn null_like(value: &ColumnData<'static>) -> ColumnData<'static> {
    match value {
        ColumnData::Bit(_) => ColumnData::Bit(None),
        ColumnData::U8(_) => ColumnData::U8(None),
        ColumnData::I16(_) => ColumnData::I16(None),
        ColumnData::I32(_) => ColumnData::I32(None),
        ColumnData::I64(_) => ColumnData::I64(None),
        ColumnData::F32(_) => ColumnData::F32(None),
        ColumnData::F64(_) => ColumnData::F64(None),
        ColumnData::Numeric(_) => ColumnData::Numeric(None),
        ColumnData::String(_) => ColumnData::String(None),
        ColumnData::Binary(_) => ColumnData::Binary(None),
        ColumnData::Date(_) => ColumnData::Date(None),
        ColumnData::Time(_) => ColumnData::Time(None),
        ColumnData::DateTime(_) => ColumnData::DateTime(None),
        ColumnData::SmallDateTime(_) => ColumnData::SmallDateTime(None),
        ColumnData::DateTime2(_) => ColumnData::DateTime2(None),
        ColumnData::DateTimeOffset(_) => ColumnData::DateTimeOffset(None),
        ColumnData::Guid(_) => ColumnData::Guid(None),
        ColumnData::Xml(_) => ColumnData::Xml(None),
    }
}

async fn insert_params(client: &mut Conn, id: i32, values: &[ColumnData<'static>]) {
    let placeholders: Vec<String> = (1..=values.len() + 1).map(|i| format!("@P{i}")).collect();
    let sql = format!("INSERT INTO all_types VALUES ({})", placeholders.join(", "));
    let mut params: Vec<&dyn ToSql> = vec![&id];
    params.extend(values.iter().map(|v| v as &dyn ToSql));
    let done = client.execute(sql, &params).await.unwrap();
    assert_eq!(done.total(), 1);
}

#[tokio::test]
async fn parameters_and_results_of_every_type() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, ALL_TYPES).await;
    insert_params(&mut client, 1, &sent_values()).await;
    assert_values(&read_row(&mut client, 1).await, &read_values());

    let nulls: Vec<_> = sent_values().iter().map(null_like).collect();
    insert_params(&mut client, 2, &nulls).await;
    let row = read_row(&mut client, 2).await;
    assert!(row.iter().all(is_null), "{row:?}");
}

#[tokio::test]
async fn literals_decode_to_every_type() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, ALL_TYPES).await;
    exec(
        &mut client,
        "INSERT INTO all_types VALUES (1, 1, 255, -32768, 2147483647, -9223372036854775808, 1.5, -2.5e300, \
         -12345.6789012345, 99999999999999999999999999999999999999, \
         -1234.5678, 214748.3647, 'abc', 'Ñandú €', 'v', N'ñ', N'Ñ😀字', N'字', 0x0001FF, 0x07, \
         '0001-01-01', '23:59:59.9999999', '1900-01-01T00:00:00', '1900-01-01T00:01:00', \
         '9999-12-31T23:59:59.9999999', '2021-06-15T10:00:00+05:30', '6F9619FF-8B86-D011-B42D-00C04FC964FF')",
    )
    .await;
    exec(&mut client, "INSERT INTO all_types (id) VALUES (2)").await;
    let row = read_row(&mut client, 1).await;
    let want = read_values();
    for i in [
        0usize, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 23, 25,
    ] {
        assert_eq!(row[i], want[i], "column {}", i + 1);
    }
    assert_eq!(
        row[7],
        ColumnData::Numeric(Some(Numeric::new_with_scale(-123_456_789_012_345, 10)))
    );
    assert_eq!(row[9], ColumnData::F64(Some(-1234.5678)));
    assert_eq!(row[13], ColumnData::String(Some("v".into())));
    assert_eq!(row[16], ColumnData::String(Some("字".into())));
    assert_eq!(row[18], ColumnData::Binary(Some(Cow::Owned(vec![7]))));
    assert_eq!(row[21], ColumnData::DateTime(Some(DateTime::new(0, 0))));
    assert_eq!(row[22], ColumnData::SmallDateTime(Some(SmallDateTime::new(0, 1))));
    // 2021-06-15T10:00:00+05:30 is 04:30 UTC on the wire.
    let utc = DateTime2::new(Date::new(737_955), Time::new(16_200 * 10_000_000, 7));
    assert_eq!(
        row[24],
        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(utc, 330)))
    );
    let nulls = read_row(&mut client, 2).await;
    assert!(nulls.iter().all(is_null), "{nulls:?}");
}

#[tokio::test]
async fn bulk_insert_of_every_type() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, ALL_TYPES).await;
    let mut request = client.bulk_insert("all_types").await.unwrap();
    for id in 1..=3 {
        let mut row = TokenRow::new();
        row.push(ColumnData::I32(Some(id)));
        let values = if id == 3 {
            sent_values().iter().map(null_like).collect()
        } else {
            sent_values()
        };
        values.into_iter().for_each(|v| row.push(v));
        request.send(row).await.unwrap();
    }
    assert_eq!(request.finalize().await.unwrap().total(), 3);
    assert_values(&read_row(&mut client, 1).await, &read_values());
    assert_values(&read_row(&mut client, 2).await, &read_values());
    let nulls = read_row(&mut client, 3).await;
    assert!(nulls.iter().all(is_null), "{nulls:?}");
    let stats = f.server.stats();
    assert_eq!((stats.bulk_loads, stats.bulk_rows), (1, 3));
    assert!(
        f.server
            .requests()
            .iter()
            .any(|r| r.starts_with("INSERT BULK all_types ("))
    );
}

#[tokio::test]
async fn bulk_insert_into_a_temp_table_of_many_packets() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(
        &mut client,
        "CREATE TABLE #staging (id bigint NOT NULL, note nvarchar(200), at date)",
    )
    .await;
    let mut request = client.bulk_insert("#staging").await.unwrap();
    for id in 0..5_000i64 {
        let mut row = TokenRow::new();
        row.push(ColumnData::I64(Some(id)));
        row.push(ColumnData::String(Some(format!("row {id} ñ").into())));
        row.push(ColumnData::Date(Some(Date::new(738_000))));
        request.send(row).await.unwrap();
    }
    assert_eq!(request.finalize().await.unwrap().total(), 5_000);
    assert_eq!(count(&mut client, "#staging").await, 5_000);
    let rows = client
        .simple_query("SELECT id, note FROM #staging")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 5_000);
    assert_eq!(rows[4_999].get::<&str, _>(1), Some("row 4999 ñ"));
}

#[tokio::test]
async fn transactions_commit_and_roll_back() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int)").await;
    exec(&mut client, "BEGIN TRAN").await;
    client
        .execute("INSERT INTO t VALUES (@P1)", &[&1i32])
        .await
        .unwrap();
    exec(&mut client, "ROLLBACK").await;
    assert_eq!(count(&mut client, "t").await, 0);

    exec(&mut client, "BEGIN TRANSACTION; INSERT INTO t VALUES (1)").await;
    exec(&mut client, "COMMIT").await;
    assert_eq!(count(&mut client, "t").await, 1);

    client.begin_transaction().await.unwrap();
    exec(&mut client, "INSERT INTO t VALUES (2)").await;
    client.rollback_transaction().await.unwrap();
    client.begin_transaction().await.unwrap();
    exec(&mut client, "INSERT INTO t VALUES (3)").await;
    client.commit_transaction().await.unwrap();
    assert_eq!(count(&mut client, "t").await, 2);
}

/// A client that goes mid-transaction (a killed writer) leaves nothing of it: its rows are rolled
/// back and its write lock released, so the next writer writes at once (had the transaction stayed
/// open, the other writer would wait for it and fail).
#[tokio::test]
async fn a_dropped_connection_rolls_back() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int, note nvarchar(100))").await;
    exec(&mut client, "BEGIN TRAN; INSERT INTO t VALUES (1, 'half a unit')").await;
    drop(client);
    let mut other = connect(&f.server).await;
    exec(&mut other, "BEGIN TRAN; INSERT INTO t (id) VALUES (2); COMMIT").await;
    assert_eq!(count(&mut other, "t").await, 1);

    // The same in the middle of a bulk load inside a transaction.
    let mut client = connect(&f.server).await;
    exec(&mut client, "BEGIN TRAN; DELETE FROM t").await;
    assert_eq!(bulk_rows(&mut client, "t", 2_000).await.unwrap(), 2_000);
    drop(client);
    exec(&mut other, "BEGIN TRAN; INSERT INTO t (id) VALUES (3); COMMIT").await;
    assert_eq!(count(&mut other, "t").await, 2);
}

async fn connect_as(server: &ServerHandle, program: &str) -> Conn {
    let mut config = Config::from_ado_string(&server.connection_string("routeflow")).unwrap();
    config.application_name(program);
    connect_with(config).await.unwrap()
}

/// `sp_getapplock`'s return code, as routeflow asks for it: every value a parameter.
async fn applock(client: &mut Conn, resource: &str, timeout_ms: i32) -> i32 {
    let sql = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = @P2, \
               @LockOwner = @P3, @LockTimeout = @P4; SELECT @r";
    let stream = client
        .query(sql, &[&resource, &"Exclusive", &"Session", &timeout_ms])
        .await
        .unwrap();
    first_int(stream).await
}

/// An application lock owned by a session: exclusive, waited for up to the timeout, named by the
/// dynamic management views, and released when its client goes.
#[tokio::test]
async fn application_locks_belong_to_the_session_and_go_with_it() {
    let f = start();
    let mut holder = connect_as(&f.server, "nightly holder").await;
    let mut other = connect_as(&f.server, "second run").await;
    assert_eq!(applock(&mut holder, "routeflow:r", 0).await, 0);
    assert_eq!(applock(&mut holder, "routeflow:r", 0).await, 0, "its own again");
    assert_eq!(applock(&mut other, "routeflow:r", 50).await, -1);
    let row = other
        .query(
            "SELECT TOP 1 s.program_name FROM sys.dm_tran_locks AS l INNER JOIN sys.dm_exec_sessions AS s \
             ON s.session_id = l.request_session_id WHERE l.resource_type = 'APPLICATION' \
             AND l.request_session_id <> @@SPID AND CHARINDEX(@P1, l.resource_description) > 0",
            &[&"routeflow:r"],
        )
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<&str, _>(0), Some("nightly holder"));

    // Waiting while the holder's client goes: granted after the wait (1).
    let waiter = tokio::spawn(async move { (applock(&mut other, "routeflow:r", 30_000).await, other) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(holder);
    let (code, mut other) = waiter.await.unwrap();
    assert_eq!(code, 1);
    let sql =
        "DECLARE @r int; EXEC @r = sp_releaseapplock @Resource = @P1, @LockOwner = 'Session'; SELECT @r";
    let released = first_int(other.query(sql, &[&"routeflow:r"]).await.unwrap()).await;
    assert_eq!(released, 0);
    let mut third = connect(&f.server).await;
    assert_eq!(applock(&mut third, "routeflow:r", 0).await, 0);
}

#[tokio::test]
async fn errors_carry_sql_server_numbers() {
    let f = start();
    let mut client = connect(&f.server).await;
    let error = client.simple_query("SELECT * FROM missing").await.unwrap_err();
    assert_eq!(server_code(error), 208);
    let error = client.execute("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(server_code(error), 102);
    // The statements before the failing one ran; the connection stays usable.
    exec(&mut client, "CREATE TABLE t (id int)").await;
    let error = client
        .simple_query("INSERT INTO t VALUES (1); SELECT * FROM missing")
        .await
        .unwrap_err();
    assert_eq!(server_code(error), 208);
    assert_eq!(count(&mut client, "t").await, 1);
}

#[tokio::test]
async fn injected_error_rolls_back_like_a_deadlock() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int)").await;
    f.server.inject(Fault {
        when: FaultMatch::Contains("insert into t values (2)".into()),
        action: FaultAction::Error {
            number: 1205,
            message: "Transaction was deadlocked".into(),
        },
        times: 1,
    });
    exec(&mut client, "BEGIN TRAN; INSERT INTO t VALUES (1)").await;
    let error = client.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap_err();
    assert_eq!(server_code(error), 1205);
    assert_eq!(count(&mut client, "t").await, 0);
    // Fired once: the retry goes through.
    client.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    assert_eq!(count(&mut client, "t").await, 1);
}

#[tokio::test]
async fn injected_drop_and_delay() {
    let f = start();
    let mut client = connect(&f.server).await;
    f.server.reset_stats();
    f.server.inject(Fault {
        when: FaultMatch::Nth(2),
        action: FaultAction::Drop,
        times: 1,
    });
    exec(&mut client, "SELECT 1").await;
    assert!(client.simple_query("SELECT 2").await.is_err());

    let mut client = connect(&f.server).await;
    f.server.inject(Fault {
        when: FaultMatch::Contains("SELECT 3".into()),
        action: FaultAction::Delay(Duration::from_millis(300)),
        times: 1,
    });
    let started = Instant::now();
    exec(&mut client, "SELECT 3").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(f.server.requests(), vec!["SELECT 1", "SELECT 2", "SELECT 3"]);
}

async fn bulk_rows(client: &mut Conn, table: &str, rows: i32) -> tiberius::Result<u64> {
    let mut request = client.bulk_insert(table).await?;
    for id in 0..rows {
        let mut row = TokenRow::new();
        row.push(ColumnData::I32(Some(id)));
        row.push(ColumnData::String(Some("payload".repeat(10).into())));
        request.send(row).await?;
    }
    Ok(request.finalize().await?.total())
}

#[tokio::test]
async fn drop_in_the_middle_of_a_bulk_load() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int, note nvarchar(100))").await;
    f.server.inject(Fault {
        when: FaultMatch::Contains("INSERT BULK".into()),
        action: FaultAction::DropAfterBytes(10_000),
        times: 1,
    });
    assert!(bulk_rows(&mut client, "t", 2_000).await.is_err());
    let mut client = connect(&f.server).await;
    assert_eq!(count(&mut client, "t").await, 0);
    assert_eq!(bulk_rows(&mut client, "t", 2_000).await.unwrap(), 2_000);
}

#[tokio::test]
async fn injected_error_fails_a_bulk_load_at_the_end() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int, note nvarchar(100))").await;
    f.server.inject(Fault {
        when: FaultMatch::Contains("insert bulk t".into()),
        action: FaultAction::Error {
            number: 1205,
            message: "deadlocked".into(),
        },
        times: 1,
    });
    let error = bulk_rows(&mut client, "t", 10).await.unwrap_err();
    assert_eq!(server_code(error), 1205);
    assert_eq!(count(&mut client, "t").await, 0);
}

#[tokio::test]
async fn stats_count_requests_and_statements() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int, note nvarchar(100))").await;
    f.server.reset_stats();
    exec(&mut client, "SELECT 1; SELECT 2; SELECT 3").await;
    client
        .query("SELECT @P1", &[&1i32])
        .await
        .unwrap()
        .into_results()
        .await
        .unwrap();
    bulk_rows(&mut client, "t", 7).await.unwrap();
    let stats = f.server.stats();
    assert_eq!(
        (stats.batches, stats.rpcs, stats.bulk_loads, stats.bulk_rows),
        (2, 1, 1, 7)
    );
    // Three, one, the bulk load's metadata query and the load itself.
    assert_eq!(stats.statements, 6);
    let requests = f.server.requests();
    assert_eq!(requests[..2], ["SELECT 1; SELECT 2; SELECT 3", "SELECT @P1"]);
    assert_eq!(requests[2], "SELECT TOP 0 * FROM t");
    assert!(requests[3].starts_with("INSERT BULK t ([id] int, [note] nvarchar("));
}

#[tokio::test]
async fn concurrent_connections_write_together() {
    let f = start();
    let mut setup = connect(&f.server).await;
    exec(&mut setup, "CREATE TABLE t (id int, note nvarchar(100))").await;
    let tasks = (0..2).map(|worker| {
        let server_string = f.server.connection_string("routeflow");
        tokio::spawn(async move {
            let mut client = connect_with(Config::from_ado_string(&server_string).unwrap())
                .await
                .unwrap();
            for i in 0..50 {
                client
                    .execute("INSERT INTO t VALUES (@P1, @P2)", &[&(worker * 100 + i), &"x"])
                    .await
                    .unwrap();
            }
            bulk_rows(&mut client, "t", 100).await.unwrap();
        })
    });
    for task in tasks.collect::<Vec<_>>() {
        task.await.unwrap();
    }
    assert_eq!(count(&mut setup, "t").await, 300);
    assert_eq!(f.server.stats().connections, 3);
}

#[tokio::test]
async fn cancel_is_acknowledged() {
    let f = start();
    let mut client = connect(&f.server).await;
    client.cancel_query().await.unwrap();
    exec(&mut client, "SELECT 1").await;
}

#[tokio::test]
async fn large_results_span_packets() {
    let f = start();
    let mut client = connect(&f.server).await;
    exec(&mut client, "CREATE TABLE t (id int, note nvarchar(max))").await;
    let big = "Ñ😀".repeat(20_000);
    client
        .execute("INSERT INTO t VALUES (1, @P1)", &[&big.as_str()])
        .await
        .unwrap();
    bulk_rows(&mut client, "t", 3_000).await.unwrap();
    let rows = client
        .simple_query("SELECT id, note FROM t")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    assert_eq!(rows.len(), 3_001);
    let first = rows
        .iter()
        .find(|r| r.get::<&str, _>(1).is_some_and(|n| n.len() > 1000))
        .unwrap();
    assert_eq!(first.get::<&str, _>(1), Some(big.as_str()));
}
