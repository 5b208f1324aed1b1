//! SQL Server in and out, through the real tiberius client: against the project's TDS test server
//! (`tests/tds-server`, SQLite behind a T-SQL parser), and also against a real server when
//! `ROUTEFLOW_TEST_MSSQL` holds a connection string (SQL Server, or Babelfish for PostgreSQL, which
//! `.ci/run` starts when the machine has it). Where Babelfish lacks what SQL Server does, the test
//! skips that part there and says so on standard error (`SKIPPED on …`). The fault tests need the
//! test server's fault injection, so they only use it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Field, Schema};
use futures::FutureExt;
use routeflow::mssql::catalog::{self, OrderKey, OrderSource};
use routeflow::mssql::conn::{Mssql, MssqlOptions};
use routeflow::mssql::types::{BatchBuilder, WidthPolicy, encode_batch, quote_ident};
use routeflow::source::mssql::MssqlTable;
use tds_server::{Fault, FaultAction, FaultMatch, Server, ServerConfig, ServerHandle};
use tempfile::TempDir;

use crate::support::{FIXTURES, Row, read_output, routeflow, text_rows};

mod faults;
mod injection;
mod locks;
mod reads;
mod strict;
mod writes;

/// Tests against one real server share its tables, so they take turns.
static REAL_SERVER: Mutex<()> = Mutex::new(());
const RESULT_TABLE: &str = "RoutePlanResult";
/// `routeflow run` from SQL Server back to SQL Server, without a snapshot.
pub(crate) const RUN_MSSQL: &[&str] = &[
    "-q",
    "run",
    "--input",
    "mssql",
    "--output",
    "mssql",
    "--no-snapshot",
];
const TABLES: [&str; 9] = [
    "MonthlyRoutePlan_temp",
    "customer",
    "prospective",
    "custvisit",
    "distributors",
    RESULT_TABLE,
    "RoutePlanResult__rf_new",
    "RoutePlanOther",
    "RoutePlanOther__rf_new",
];

/// Where a SQL Server test runs.
#[derive(Debug, Clone)]
pub enum Target {
    /// The project's TDS test server, fresh for each test.
    StandIn,
    /// The server of `ROUTEFLOW_TEST_MSSQL`: SQL Server, or an engine that speaks like it (Babelfish).
    Real(String),
}

/// A database to test against, with the contract's tables created from `fixtures/mssql/schema.sql`.
pub struct TestDb {
    pub conn: String,
    pub server: Option<ServerHandle>,
    pub dir: TempDir,
    /// What the database is, for messages: `stand-in`, `SQL Server …` or `Babelfish …`.
    pub name: String,
    /// Babelfish for PostgreSQL (`@@VERSION` says so): tests skip or work around its known gaps.
    pub babelfish: bool,
    _turn: Option<MutexGuard<'static, ()>>,
}

impl TestDb {
    /// Every database the non-fault tests run on: always the test server, plus the real server
    /// when `ROUTEFLOW_TEST_MSSQL` holds a connection string.
    pub fn targets() -> Vec<Target> {
        let mut targets = vec![Target::StandIn];
        if let Ok(conn) = std::env::var("ROUTEFLOW_TEST_MSSQL")
            && !conn.trim().is_empty()
        {
            targets.push(Target::Real(conn));
        }
        targets
    }

    /// Opens `target`: a fresh test server, or the real server once it is this test's turn.
    pub async fn open(target: &Target) -> Self {
        let conn = match target {
            Target::StandIn => return Self::test_server(),
            Target::Real(conn) => conn.clone(),
        };
        let turn = REAL_SERVER.lock().unwrap_or_else(|e| e.into_inner());
        let mut db = Self {
            conn,
            server: None,
            dir: tempfile::tempdir().unwrap(),
            name: "real server".into(),
            babelfish: false,
            _turn: Some(turn),
        };
        let version = db.version().await;
        db.babelfish = version.contains("Babelfish");
        db.name = if db.babelfish {
            // "... PostgreSQL 16.4 on x86_64-pc-linux-gnu (Babelfish 4.3.0)"
            let release = version
                .rfind("(Babelfish")
                .map(|i| version[i..].trim_matches(['(', ')', ' ', '\n']))
                .unwrap_or("Babelfish");
            format!("real server ({release})")
        } else {
            format!("real server ({})", version.lines().next().unwrap_or("").trim())
        };
        db
    }

    /// `@@VERSION` of the server.
    async fn version(&self) -> String {
        let db = self.pool();
        let mut conn = db.get().await.unwrap();
        let row = conn
            .client
            .query("SELECT @@VERSION", &[])
            .await
            .unwrap()
            .into_row()
            .await
            .unwrap()
            .expect("@@VERSION returns a row");
        row.get::<&str, _>(0).unwrap_or("").to_string()
    }

    /// Says, on the terminal even when the test passes (cargo test captures only `print!`s), that a
    /// part of the current test did not run on this database, and why.
    pub fn skip(&self, part: &str, reason: &str) {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED on {}: {test}: {part}: {reason}",
            self.name
        );
    }

    /// Always the test server (fault injection, statement counts).
    pub fn test_server() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::spawn(ServerConfig {
            database_file: dir.path().join("routes.sqlite"),
            port: 0,
            user: "routeflow".into(),
            password: "Test-Secret-42".into(),
        })
        .unwrap();
        Self {
            conn: server.connection_string("routes"),
            server: Some(server),
            dir,
            name: "stand-in".into(),
            babelfish: false,
            _turn: None,
        }
    }

    pub fn pool(&self) -> Arc<Mssql> {
        Mssql::new(&MssqlOptions {
            connection_string: self.conn.clone(),
            connect_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(60),
            pool_size: 2,
        })
        .unwrap()
    }

    /// Runs T-SQL (test setup only: fixed statements, no user values).
    pub async fn exec(&self, sql: &str) {
        let db = self.pool();
        let mut conn = db.get().await.unwrap();
        let result = match conn.client.simple_query(sql).await {
            Ok(stream) => stream.into_results().await.map(drop),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Drops the tables tests use and creates the contract's from the DDL file; `wide_names` widens
    /// the plan's `Name` from production's 15 characters, so added prospects keep their full names.
    pub async fn create_schema(&self, wide_names: bool) {
        for t in TABLES {
            self.exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(t)))
                .await;
        }
        let ddl =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mssql/schema.sql"))
                .unwrap();
        let ddl = if wide_names {
            ddl.replace("Name nvarchar(15)", "Name nvarchar(200)")
        } else {
            ddl
        };
        self.exec(&ddl).await;
    }

    /// `routeflow` with the connection string in the environment, never on the command line.
    pub fn routeflow(&self) -> Command {
        let mut cmd = routeflow();
        cmd.env("ROUTEFLOW_MSSQL", &self.conn);
        cmd
    }

    /// Runs routeflow and returns its exit code, stdout and stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.routeflow().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Like `run`, failing the test unless routeflow succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "routeflow {args:?} failed on {}:\n{stderr}", self.name);
        stdout
    }

    /// Every row of `table`, every column as text, through routeflow's own type mapping.
    pub async fn read(&self, table: &str) -> Vec<Row> {
        let mut rows = text_rows(&[self.read_batch(table).await]);
        rows.sort();
        rows
    }

    /// `table` as one Arrow batch, through routeflow's catalog query and type mapping.
    pub async fn read_batch(&self, table: &str) -> RecordBatch {
        let db = self.pool();
        let columns = catalog::columns(&db, table).await.unwrap().expect("table exists");
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, c.arrow_type().unwrap(), true))
                .collect::<Vec<_>>(),
        ));
        let select: Vec<String> = columns.iter().map(|c| c.select_expr()).collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), quote_ident(table));
        let mut conn = db.get().await.unwrap();
        let rows = conn
            .client
            .query(sql, &[])
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        let mut builder = BatchBuilder::new(&columns, Arc::clone(&schema), rows.len().max(1)).unwrap();
        for row in rows {
            builder.push_row(row).unwrap();
        }
        builder.finish().unwrap()
    }

    /// Loads the fixtures into the contract's tables with `routeflow copy`. On Babelfish, whose bulk
    /// load of `decimal` values is broken (an engine bug: the values stored are garbage; SQL Server
    /// is fine), `customer` and its `decimal(10,7)` coordinates go in through parameterised inserts.
    pub async fn load_fixtures(&self) {
        if !self.babelfish {
            self.ok(&["-q", "copy", "--from", FIXTURES, "--to", "mssql"]);
            return;
        }
        self.skip(
            "`routeflow copy` of customer (bulk load)",
            "Babelfish bulk-loads decimal values wrongly (engine bug); customer is loaded through \
             parameterised INSERTs instead",
        );
        self.ok(&[
            "-q",
            "copy",
            "--from",
            FIXTURES,
            "--to",
            "mssql",
            "--tables",
            "MonthlyRoutePlan_temp,prospective,custvisit,distributors",
        ]);
        self.insert_fixture_customers().await;
    }

    /// The fixtures' `customer` rows, in file order, by parameterised multi-row `INSERT`s. A NULL
    /// is written as the keyword: Babelfish rejects NULL parameters as tiberius sends them (TDS type
    /// 0x1F, "Data type 0x1F is unknown").
    async fn insert_fixture_customers(&self) {
        const ROWS_PER_INSERT: usize = 500; // at most 2,000 parameters; SQL Server takes 2,100
        let rows = crate::support::read_table(&Path::new(FIXTURES).join("customer.parquet")).await;
        let pool = self.pool();
        let mut conn = pool.get().await.unwrap();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut values: Vec<String> = Vec::with_capacity(chunk.len());
            let mut texts: Vec<&str> = Vec::new();
            let mut numbers: Vec<f64> = Vec::new();
            let mut params: Vec<(bool, usize)> = Vec::new(); // (is text, index)
            for row in chunk {
                let mut tuple = Vec::with_capacity(4);
                for (column, is_text) in [
                    ("CustNo", true),
                    ("latitude", false),
                    ("longitude", false),
                    ("address3", true),
                ] {
                    match row[column].as_deref() {
                        None => tuple.push("NULL".to_string()),
                        Some(v) if is_text => {
                            params.push((true, texts.len()));
                            texts.push(v);
                            tuple.push(format!("@P{}", params.len()));
                        }
                        Some(v) => {
                            params.push((false, numbers.len()));
                            numbers.push(v.parse().unwrap());
                            tuple.push(format!("@P{}", params.len()));
                        }
                    }
                }
                values.push(format!("({})", tuple.join(", ")));
            }
            let sql = format!(
                "INSERT INTO customer (CustNo, latitude, longitude, address3) VALUES {}",
                values.join(", ")
            );
            let params: Vec<&dyn tiberius::ToSql> = params
                .iter()
                .map(|&(is_text, i)| {
                    if is_text {
                        &texts[i] as &dyn tiberius::ToSql
                    } else {
                        &numbers[i]
                    }
                })
                .collect();
            conn.client.execute(sql, &params).await.unwrap();
        }
    }

    /// Loads the fixtures, copies them back out to files (as the server holds them: its types and
    /// widths), and runs the file path over that copy: what the SQL Server path must reproduce.
    pub async fn load_fixtures_and_file_result(&self, wide_names: bool) -> Vec<Row> {
        self.create_schema(wide_names).await;
        let copied = self.dir.path().join("copied");
        let out = self.dir.path().join("file-out");
        self.load_fixtures().await;
        self.ok(&["-q", "copy", "--from", "mssql", "--to", copied.to_str().unwrap()]);
        self.ok(&[
            "-q",
            "run",
            "--input",
            copied.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--no-snapshot",
        ]);
        let mut rows = read_output(&out).await;
        rows.sort();
        rows
    }
}

/// Runs `test` on every target of [`TestDb::targets`] in turn; a failure names the target.
async fn on_each_target<F, Fut>(test: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    for target in TestDb::targets() {
        let db = TestDb::open(&target).await;
        let name = db.name.clone();
        if let Err(panic) = AssertUnwindSafe(test(db)).catch_unwind().await {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("on {name}: {message}");
        }
    }
}

/// Every type routeflow maps, at its limits, with unicode and NULLs: read through the server into
/// Arrow, then bulk-loaded back into a twin table and read again, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_at_its_limits() {
    on_each_target(|db| async move {
        let columns = "id int, b bit, ti tinyint, si smallint, i int, bi bigint, r real, f float, \
        d decimal(38,0), ds decimal(38,38), n numeric(10,7), m money, sm smallmoney, c char(5), \
        vc varchar(20), nc nchar(5), nv nvarchar(20), nvm nvarchar(max), dt date, tm time(7), \
        dtm datetime, sdt smalldatetime, dt2 datetime2(7), dto datetimeoffset(7), g uniqueidentifier, \
        vb varbinary(16)";
        for t in ["rf_types", "rf_types_copy"] {
            db.exec(&format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} ({columns})"))
                .await;
        }
        db.exec(
            "INSERT INTO rf_types VALUES (1, 1, 255, 32767, 2147483647, 9223372036854775807, 1.5, \
         1.7976931348623157E308, 99999999999999999999999999999999999999, \
         0.99999999999999999999999999999999999999, 999.9999999, 922337203685477.5807, 214748.3647, \
         N'Ñandú', 'plain ascii', N'漢字😀', N'Ñ 😀 漢字', N'Ñandú 😀 漢字 and more', '9999-12-31', \
         '23:59:59.9999999', '9999-12-31 23:59:59.997', '2079-06-06 23:59:00', \
         '9999-12-31 23:59:59.9999999', '2026-12-01 08:00:00.1234567 +08:00', \
         '6F9619FF-8B86-D011-B42D-00C04FC964FF', 0x00FF10); \
         INSERT INTO rf_types VALUES (2, 0, 0, -32768, -2147483648, -9223372036854775808, -1.5, \
         -2.2250738585072014E-308, -99999999999999999999999999999999999999, \
         -0.99999999999999999999999999999999999999, -999.9999999, -922337203685477.5808, -214748.3648, \
         'abc', '', N'', N'', N'', '0001-01-01', '00:00:00', '1753-01-01 00:00:00', \
         '1900-01-01 00:00:00', '0001-01-01 00:00:00', '0001-01-01 00:00:00 +00:00', \
         '00000000-0000-0000-0000-000000000000', 0x); \
         INSERT INTO rf_types (id) VALUES (3)",
        )
        .await;
        if db.babelfish {
            db.skip(
                "the 7th fractional digit of time(7), datetime2(7), datetimeoffset(7)",
                "Babelfish keeps microseconds only (23:59:59.9999999 becomes 24:00:00, which SQL \
                 Server never returns); row 1 holds them with 6 digits instead",
            );
            db.exec(
                "UPDATE rf_types SET tm = '23:59:59.999999', dt2 = '9999-12-31 23:59:59.999999', \
                 dto = '2026-12-01 08:00:00.123456 +08:00' WHERE id = 1",
            )
            .await;
        }
        let rows = db.read("rf_types").await;
        let by_id = |id: &str| rows.iter().find(|r| r["id"].as_deref() == Some(id)).unwrap();
        let (max, min, nulls) = (by_id("1"), by_id("2"), by_id("3"));
        let v = |r: &Row, c: &str| r[c].clone().unwrap_or_else(|| panic!("{c} is NULL in {r:?}"));
        assert_eq!(v(max, "bi"), "9223372036854775807");
        assert_eq!(v(min, "i"), "-2147483648");
        assert_eq!(v(max, "ti"), "255");
        assert_eq!(v(max, "d"), "99999999999999999999999999999999999999");
        assert_eq!(v(min, "d"), "-99999999999999999999999999999999999999");
        assert_eq!(v(max, "ds"), "0.99999999999999999999999999999999999999");
        assert_eq!(v(max, "n"), "999.9999999");
        assert_eq!(v(max, "m"), "922337203685477.5807");
        assert_eq!(v(min, "m"), "-922337203685477.5808");
        assert_eq!(v(min, "sm"), "-214748.3648");
        assert_eq!(v(max, "f"), "1.7976931348623157e308");
        assert_eq!(v(max, "c"), "Ñandú");
        assert_eq!(v(min, "c"), "abc  ", "char(5) is padded");
        assert_eq!(v(max, "nc"), "漢字😀 ", "nchar(5) counts UTF-16 units");
        assert_eq!(v(max, "nv"), "Ñ 😀 漢字");
        assert_eq!(v(max, "nvm"), "Ñandú 😀 漢字 and more");
        assert_eq!(v(min, "nv"), "");
        assert_eq!(v(max, "dt"), "9999-12-31");
        assert_eq!(v(min, "dt"), "0001-01-01");
        assert!(
            v(max, "dt2").starts_with("9999-12-31T23:59:59.999999"),
            "{}",
            v(max, "dt2")
        );
        // datetime counts 1/300 s: ".997" is 299/300 s, which is 996,667 µs to the microsecond.
        assert_eq!(v(max, "dtm"), "9999-12-31T23:59:59.996667");
        assert!(
            v(max, "dto").starts_with("2026-12-01T00:00:00.123456"),
            "stored as UTC: {}",
            v(max, "dto")
        );
        let tm_max = if db.babelfish {
            "23:59:59.999999"
        } else {
            "23:59:59.9999999"
        };
        assert!(v(max, "tm").starts_with(tm_max), "{}", v(max, "tm"));
        assert_eq!(v(max, "g"), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert_eq!(v(max, "b"), "true");
        assert!(
            nulls.iter().all(|(c, value)| c == "id" || value.is_none()),
            "{nulls:?}"
        );
        let batch = db.read_batch("rf_types").await;
        let vb = batch.column_by_name("vb").unwrap().as_binary::<i32>();
        let ids = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int32Type>();
        for (row, id) in ids.iter().enumerate() {
            match id {
                Some(1) => assert_eq!(vb.value(row), [0x00, 0xff, 0x10]),
                Some(2) => assert_eq!(vb.value(row), [0u8; 0]),
                _ => assert!(vb.is_null(row)),
            }
        }

        // And back: Arrow → bulk load → the twin table holds the same values.
        let mut expected = batch.clone();
        if db.babelfish {
            db.skip(
                "bulk load of the decimal columns d, ds, n",
                "Babelfish bulk-loads decimal values wrongly (engine bug: reading them back fails \
                 with \"decimal: invalid sign\")",
            );
            db.skip(
                "bulk load of the time(7) and datetimeoffset(7) columns tm, dto",
                "Babelfish's INFORMATION_SCHEMA.COLUMNS gives these a DATETIME_PRECISION of 6 \
                 while its bulk-load metadata says 7, so a value written at the catalog's scale is \
                 read a tenth of its size (23:59:59.999999 comes back as 02:23:59.999999); on SQL \
                 Server both say 7",
            );
            // One column a statement: Babelfish rejects `DROP COLUMN d, ds, n`.
            db.exec(
                "ALTER TABLE rf_types_copy DROP COLUMN d; ALTER TABLE rf_types_copy DROP COLUMN ds; \
                 ALTER TABLE rf_types_copy DROP COLUMN n; ALTER TABLE rf_types_copy DROP COLUMN tm; \
                 ALTER TABLE rf_types_copy DROP COLUMN dto",
            )
            .await;
            let skipped = ["d", "ds", "n", "tm", "dto"];
            let keep: Vec<usize> = (0..batch.num_columns())
                .filter(|&i| !skipped.contains(&batch.schema().field(i).name().as_str()))
                .collect();
            expected = batch.project(&keep).unwrap();
        }
        let pool = db.pool();
        let targets = catalog::columns(&pool, "rf_types_copy").await.unwrap().unwrap();
        let (encoded, cut) = encode_batch(&batch, &targets, WidthPolicy::Strict).unwrap();
        assert!(cut.is_empty());
        let mut conn = pool.get().await.unwrap();
        let mut request = conn.client.bulk_insert("rf_types_copy").await.unwrap();
        for row in encoded {
            request.send(row).await.unwrap();
        }
        assert_eq!(request.finalize().await.unwrap().total(), 3);
        drop(conn);
        let copy = db.read_batch("rf_types_copy").await;
        assert_eq!(copy.schema(), expected.schema());
        for (field, column) in expected.schema().fields().iter().zip(expected.columns()) {
            let back = copy.column_by_name(field.name()).unwrap();
            assert_eq!(back, column, "column {} after the bulk load", field.name());
        }
    })
    .await;
}
