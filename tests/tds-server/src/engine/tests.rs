//! The engine against T-SQL as routeflow and tiberius send it.

use super::*;
use crate::types::{Column, SqlType, Value};

struct Db {
    _dir: tempfile::TempDir,
    engine: Engine,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(dir.path().join("routeflow.db"));
    Db { _dir: dir, engine }
}

fn p(name: &str, ty: SqlType, value: Value) -> Param {
    Param {
        name: name.into(),
        ty,
        value,
    }
}

/// Runs a batch that must succeed.
fn ok(s: &mut Session, sql: &str, params: &[Param]) -> Vec<Outcome> {
    let (out, err) = s.execute(sql, params);
    assert!(err.is_none(), "{sql}: {err:?}");
    out
}

/// The error number of a batch that must fail.
fn fails(s: &mut Session, sql: &str, params: &[Param]) -> u32 {
    let (_, err) = s.execute(sql, params);
    err.unwrap_or_else(|| panic!("{sql} succeeded")).number
}

/// The single result set of a batch.
fn select(s: &mut Session, sql: &str, params: &[Param]) -> (Vec<Column>, Vec<Vec<Value>>) {
    match ok(s, sql, params).pop() {
        Some(Outcome::Rows { columns, rows }) => (columns, rows),
        other => panic!("{sql}: {other:?}"),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn basic_path() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE dbo.Customer (CustNo nvarchar(15) NOT NULL PRIMARY KEY, Name varchar(20), Lat decimal(10,7))",
        &[],
    );
    let out = ok(
        &mut s,
        "INSERT INTO dbo.Customer (CustNo, Name, Lat) VALUES (N'C1', 'Ñandú', 14.5), ('C2', NULL, -90)",
        &[],
    );
    assert_eq!(out, vec![Outcome::Done { rows: Some(2) }]);
    let (columns, rows) = select(
        &mut s,
        "SELECT CustNo, [Name], Lat FROM [dbo].[Customer] WHERE CustNo = @P1",
        &[p("@P1", SqlType::NVarChar(Some(4000)), text("c1"))],
    );
    assert_eq!(
        columns,
        vec![
            Column {
                name: "CustNo".into(),
                ty: SqlType::NVarChar(Some(15)),
                nullable: true
            },
            Column {
                name: "Name".into(),
                ty: SqlType::VarChar(Some(20)),
                nullable: true
            },
            Column {
                name: "Lat".into(),
                ty: SqlType::Decimal {
                    precision: 10,
                    scale: 7
                },
                nullable: true
            },
        ]
    );
    assert_eq!(
        rows,
        vec![vec![
            text("C1"),
            text("Ñandú"),
            Value::Decimal {
                value: 145_000_000,
                scale: 7
            }
        ]]
    );
    let cols = s.columns("dbo.Customer").unwrap();
    assert_eq!(
        cols[0],
        Column {
            name: "CustNo".into(),
            ty: SqlType::NVarChar(Some(15)),
            nullable: false
        }
    );
    let n = s
        .bulk_insert(
            "Customer",
            &cols[..2],
            vec![vec![text("C3"), text("x")], vec![text("C4"), Value::Null]],
        )
        .unwrap();
    assert_eq!(n, 2);
    let (columns, rows) = select(&mut s, "SELECT COUNT(*) FROM Customer", &[]);
    assert_eq!(columns[0].ty, SqlType::Int);
    assert_eq!(columns[0].name, "");
    assert_eq!(rows, vec![vec![Value::Int(4)]]);
}

/// Every type through parameters, bulk load and back, with NULLs and the extremes of each range.
#[test]
fn every_type_round_trips() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    let types: Vec<(&str, SqlType, Vec<Value>)> = vec![
        ("bit", SqlType::Bit, vec![Value::Bool(true), Value::Bool(false)]),
        ("tinyint", SqlType::TinyInt, vec![Value::Int(0), Value::Int(255)]),
        (
            "smallint",
            SqlType::SmallInt,
            vec![Value::Int(-32768), Value::Int(32767)],
        ),
        (
            "int",
            SqlType::Int,
            vec![Value::Int(i32::MIN.into()), Value::Int(i32::MAX.into())],
        ),
        (
            "bigint",
            SqlType::BigInt,
            vec![Value::Int(i64::MIN), Value::Int(i64::MAX)],
        ),
        (
            "real",
            SqlType::Real,
            vec![Value::Float(1.5), Value::Float(-3.25e3)],
        ),
        (
            "float",
            SqlType::Float,
            vec![Value::Float(0.1), Value::Float(f64::MAX)],
        ),
        (
            "decimal(38,0)",
            SqlType::Decimal {
                precision: 38,
                scale: 0,
            },
            vec![
                Value::Decimal {
                    value: 10i128.pow(38) - 1,
                    scale: 0,
                },
                Value::Decimal {
                    value: 1 - 10i128.pow(38),
                    scale: 0,
                },
            ],
        ),
        (
            "decimal(38,38)",
            SqlType::Decimal {
                precision: 38,
                scale: 38,
            },
            vec![
                Value::Decimal {
                    value: 10i128.pow(38) - 1,
                    scale: 38,
                },
                Value::Decimal { value: -1, scale: 38 },
            ],
        ),
        (
            "decimal(10,7)",
            SqlType::Decimal {
                precision: 10,
                scale: 7,
            },
            vec![
                Value::Decimal {
                    value: 123_456_789,
                    scale: 7,
                },
                Value::Decimal { value: -1, scale: 7 },
            ],
        ),
        (
            "money",
            SqlType::Money,
            vec![
                Value::Decimal {
                    value: i64::MAX.into(),
                    scale: 4,
                },
                Value::Decimal {
                    value: i64::MIN.into(),
                    scale: 4,
                },
            ],
        ),
        (
            "smallmoney",
            SqlType::SmallMoney,
            vec![
                Value::Decimal {
                    value: i32::MAX.into(),
                    scale: 4,
                },
                Value::Decimal {
                    value: i32::MIN.into(),
                    scale: 4,
                },
            ],
        ),
        ("char(3)", SqlType::Char(3), vec![text("ab "), text("xyz")]),
        (
            "varchar(20)",
            SqlType::VarChar(Some(20)),
            vec![text("plain"), text("")],
        ),
        (
            "varchar(max)",
            SqlType::VarChar(None),
            vec![text(&"x".repeat(10_000)), text("y")],
        ),
        ("nchar(2)", SqlType::NChar(2), vec![text("Ñ "), text("日本")]),
        (
            "nvarchar(15)",
            SqlType::NVarChar(Some(15)),
            vec![text("Ñandú 😀 日本語"), text("ok")],
        ),
        (
            "nvarchar(max)",
            SqlType::NVarChar(None),
            vec![text(&"😀".repeat(5_000)), text("z")],
        ),
        (
            "varbinary(16)",
            SqlType::VarBinary(Some(16)),
            vec![Value::Bytes(vec![0, 1, 255]), Value::Bytes(vec![])],
        ),
        (
            "varbinary(max)",
            SqlType::VarBinary(None),
            vec![Value::Bytes(vec![7; 20_000]), Value::Bytes(vec![1])],
        ),
        (
            "date",
            SqlType::Date,
            vec![Value::Date(0), Value::Date(3_652_058)],
        ),
        (
            "time(7)",
            SqlType::Time(7),
            vec![Value::Time(0), Value::Time(863_999_999_999)],
        ),
        (
            "datetime",
            SqlType::DateTime,
            vec![
                Value::DateTime {
                    days: 639_905,
                    time: 0,
                },
                Value::DateTime {
                    days: 3_652_058,
                    time: 0,
                },
            ],
        ),
        (
            "smalldatetime",
            SqlType::SmallDateTime,
            vec![
                Value::DateTime {
                    days: 693_595,
                    time: 0,
                },
                Value::DateTime {
                    days: 739_000,
                    time: 600_000_000,
                },
            ],
        ),
        (
            "datetime2(7)",
            SqlType::DateTime2(7),
            vec![
                Value::DateTime { days: 0, time: 0 },
                Value::DateTime {
                    days: 3_652_058,
                    time: 863_999_999_999,
                },
            ],
        ),
        (
            "datetimeoffset(7)",
            SqlType::DateTimeOffset(7),
            vec![
                Value::DateTimeOffset {
                    days: 738_000,
                    time: 1,
                    offset_minutes: -330,
                },
                Value::DateTimeOffset {
                    days: 1,
                    time: 0,
                    offset_minutes: 840,
                },
            ],
        ),
        (
            "uniqueidentifier",
            SqlType::UniqueIdentifier,
            vec![Value::Guid([0xAB; 16]), Value::Guid(*b"0123456789abcdef")],
        ),
    ];
    for (i, (decl, ty, values)) in types.into_iter().enumerate() {
        let table = format!("t{i}");
        ok(
            &mut s,
            &format!("CREATE TABLE {table} (id int NOT NULL, v {decl} NULL)"),
            &[],
        );
        let insert = format!("INSERT INTO {table} (id, v) VALUES (@P1, @P2)");
        ok(
            &mut s,
            &insert,
            &[
                p("@P1", SqlType::Int, Value::Int(0)),
                p("@P2", ty.clone(), values[0].clone()),
            ],
        );
        ok(
            &mut s,
            &insert,
            &[
                p("@P1", SqlType::Int, Value::Int(1)),
                p("@P2", ty.clone(), Value::Null),
            ],
        );
        let columns = s.columns(&table).unwrap();
        s.bulk_insert(&table, &columns, vec![vec![Value::Int(2), values[1].clone()]])
            .unwrap();
        let (cols, got) = select(&mut s, &format!("SELECT v FROM {table} ORDER BY id"), &[]);
        assert_eq!(cols[0].ty, ty, "{decl}");
        let got: Vec<Value> = got.into_iter().map(|mut r| r.remove(0)).collect();
        assert_eq!(
            got,
            vec![values[0].clone(), Value::Null, values[1].clone()],
            "{decl}"
        );
    }
}

#[test]
fn literals_convert_to_column_types() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE v (d date, dt datetime2(3), m money, g uniqueidentifier, b bit, big decimal(38,0))",
        &[],
    );
    ok(
        &mut s,
        "INSERT INTO v VALUES ('20240131', '2024-01-31T08:15:30.1234', 12.34567, '01020304-0506-0708-090a-0b0c0d0e0f10', 'true', 12345678901234567890123456789012345678)",
        &[],
    );
    let (_, r) = select(
        &mut s,
        "SELECT d, dt, m, g, b, big FROM v WHERE d = '2024-01-31' AND dt > '2024-01-31' AND m > 12",
        &[],
    );
    let day = value::days_from_civil(2024, 1, 31);
    assert_eq!(
        r[0],
        vec![
            Value::Date(day),
            Value::DateTime {
                days: day,
                time: (8 * 3600 + 15 * 60 + 30) * 10_000_000 + 1_230_000
            },
            Value::Decimal {
                value: 123_457,
                scale: 4
            },
            Value::Guid([4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]),
            Value::Bool(true),
            Value::Decimal {
                value: 12345678901234567890123456789012345678,
                scale: 0
            },
        ]
    );
}

#[test]
fn rejected_syntax_is_error_102() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(&mut s, "CREATE TABLE t (a int)", &[]);
    for sql in [
        "SELECT a FROM t LIMIT 5",
        "SELECT `a` FROM t",
        "SELECT a FROM t WHERE",
        "CREATE TABLE IF NOT EXISTS u (a int)",
        "SELECT a::text FROM t",
    ] {
        assert_eq!(fails(&mut s, sql, &[]), 102, "{sql}");
    }
    let (_, err) = s.execute("SELECT a FROM t LIMIT 5", &[]);
    assert_eq!(err.unwrap().message, "Incorrect syntax near 'LIMIT'.");
    assert_eq!(fails(&mut s, "SELECT ifnull(a, 1) FROM t", &[]), 195);
    // A rejected statement stops the whole batch before anything runs.
    assert_eq!(
        fails(&mut s, "INSERT INTO t VALUES (1); SELECT a FROM t LIMIT 1", &[]),
        102
    );
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM t", &[]).1,
        vec![vec![Value::Int(0)]]
    );
}

#[test]
fn temp_tables_are_per_session() {
    let db = db();
    let mut a = db.engine.session().unwrap();
    let mut b = db.engine.session().unwrap();
    ok(
        &mut a,
        "CREATE TABLE #stage (k nvarchar(10) NOT NULL, n int)",
        &[],
    );
    ok(&mut a, "INSERT INTO #stage (k, n) VALUES ('a', 1), ('b', 2)", &[]);
    assert_eq!(fails(&mut b, "SELECT * FROM #stage", &[]), 208);
    ok(&mut b, "CREATE TABLE #stage (other int)", &[]);
    let (cols, r) = select(&mut a, "SELECT TOP 0 * FROM #stage", &[]);
    assert!(r.is_empty());
    assert_eq!(
        cols.iter().map(|c| c.ty.clone()).collect::<Vec<_>>(),
        vec![SqlType::NVarChar(Some(10)), SqlType::Int]
    );
    assert_eq!(a.columns("#stage").unwrap().len(), 2);
    assert_eq!(
        select(&mut a, "SELECT #stage.n FROM dbo.#stage WHERE k = 'B'", &[]).1,
        vec![vec![Value::Int(2)]]
    );
    ok(&mut a, "DROP TABLE #stage", &[]);
    ok(&mut a, "DROP TABLE IF EXISTS #stage", &[]);
    assert_eq!(fails(&mut a, "DROP TABLE #stage", &[]), 3701);
    assert_eq!(b.columns("#stage").unwrap().len(), 1);
}

#[test]
fn tsql_update_from_join() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE dbo.MonthlyRoutePlan_temp (a nvarchar(10), b int, StopNo int, custype nvarchar(5));
         INSERT INTO dbo.MonthlyRoutePlan_temp VALUES ('x', 1, 0, 'A'), ('y', 2, 0, 'A'), ('z', 3, 0, 'A');
         CREATE TABLE #stage (a nvarchar(10), b int, StopNo int, custype nvarchar(5));
         INSERT INTO #stage VALUES ('X', 1, 7, 'B'), ('y', 2, 8, 'C'), ('z', 99, 9, 'D');",
        &[],
    );
    let out = ok(
        &mut s,
        "UPDATE t SET t.StopNo = s.StopNo, t.custype = s.custype FROM dbo.MonthlyRoutePlan_temp AS t \
         INNER JOIN #stage AS s ON t.a = s.a AND t.b = s.b",
        &[],
    );
    assert_eq!(out, vec![Outcome::Done { rows: Some(2) }]);
    let (_, r) = select(
        &mut s,
        "SELECT a, StopNo, custype FROM MonthlyRoutePlan_temp ORDER BY a",
        &[],
    );
    assert_eq!(
        r,
        vec![
            vec![text("x"), Value::Int(7), text("B")],
            vec![text("y"), Value::Int(8), text("C")],
            vec![text("z"), Value::Int(0), text("A")],
        ]
    );
    ok(
        &mut s,
        "UPDATE MonthlyRoutePlan_temp SET StopNo = StopNo + 1 WHERE a IN ('x', 'z')",
        &[],
    );
    assert_eq!(
        fails(
            &mut s,
            "UPDATE MonthlyRoutePlan_temp SET custype = 'toolong'",
            &[]
        ),
        8152
    );
    let out = ok(
        &mut s,
        "DELETE t FROM MonthlyRoutePlan_temp t JOIN #stage s ON t.a = s.a WHERE s.StopNo > 8",
        &[],
    );
    assert_eq!(out, vec![Outcome::Done { rows: Some(1) }]);
    ok(&mut s, "DELETE FROM MonthlyRoutePlan_temp WHERE a = 'x'", &[]);
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM MonthlyRoutePlan_temp", &[]).1,
        vec![vec![Value::Int(1)]]
    );
}

#[test]
fn select_into_keeps_types() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE src (k nvarchar(15) NOT NULL, d date, amount decimal(12,2))",
        &[],
    );
    ok(
        &mut s,
        "INSERT INTO src VALUES ('a', '2024-01-01', 1.5), ('b', NULL, 2)",
        &[],
    );
    let out = ok(
        &mut s,
        "SELECT k, d, amount, COUNT(*) OVER () AS n INTO #copy FROM src WHERE k <> 'z'",
        &[],
    );
    assert_eq!(out, vec![Outcome::Done { rows: Some(2) }]);
    let types: Vec<SqlType> = s.columns("#copy").unwrap().into_iter().map(|c| c.ty).collect();
    assert_eq!(
        types[..3],
        [
            SqlType::NVarChar(Some(15)),
            SqlType::Date,
            SqlType::Decimal {
                precision: 12,
                scale: 2
            }
        ]
    );
    assert_eq!(fails(&mut s, "SELECT k INTO #copy FROM src", &[]), 2714);
    let (_, r) = select(&mut s, "SELECT SUM(amount), MAX(d) FROM #copy", &[]);
    assert_eq!(
        r[0],
        vec![
            Value::Decimal { value: 350, scale: 2 },
            Value::Date(value::days_from_civil(2024, 1, 1))
        ]
    );
}

#[test]
fn sp_rename_keeps_the_catalog() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE plan_new (k nvarchar(15) NOT NULL, amount money)",
        &[],
    );
    ok(&mut s, "EXEC sp_rename 'dbo.plan_new', N'plan_live'", &[]);
    assert_eq!(s.columns("plan_live").unwrap()[1].ty, SqlType::Money);
    assert_eq!(fails(&mut s, "SELECT * FROM plan_new", &[]), 208);
    let params = [
        p("@P1", SqlType::NVarChar(Some(20)), text("plan_live")),
        p("@P2", SqlType::NVarChar(Some(20)), text("plan_old")),
    ];
    ok(&mut s, "EXEC sp_rename @P1, @P2", &params);
    assert!(s.columns("plan_old").is_ok());
    ok(&mut s, "CREATE TABLE other (a int)", &[]);
    assert_eq!(fails(&mut s, "EXEC sp_rename 'other', 'plan_old'", &[]), 15335);
    assert_eq!(fails(&mut s, "EXEC sp_rename 'missing', 'x'", &[]), 15248);
}

#[test]
fn information_schema() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE dbo.Customer (CustNo nvarchar(15) NOT NULL, Lat decimal(10,7), Notes nvarchar(max), Seen datetime2(3), Active bit)",
        &[],
    );
    ok(&mut s, "CREATE TABLE #hidden (a int)", &[]);
    let params = [
        p("@P1", SqlType::NVarChar(Some(128)), text("dbo")),
        p("@P2", SqlType::NVarChar(Some(128)), text("customer")),
    ];
    let (cols, r) = select(
        &mut s,
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE \
         FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 ORDER BY ORDINAL_POSITION",
        &params,
    );
    assert_eq!(cols[0].ty, SqlType::NVarChar(Some(128)));
    assert_eq!(cols[2].ty, SqlType::Int);
    let n = Value::Null;
    assert_eq!(
        r,
        vec![
            vec![
                text("CustNo"),
                text("nvarchar"),
                Value::Int(15),
                n.clone(),
                n.clone(),
                text("NO")
            ],
            vec![
                text("Lat"),
                text("decimal"),
                n.clone(),
                Value::Int(10),
                Value::Int(7),
                text("YES")
            ],
            vec![
                text("Notes"),
                text("nvarchar"),
                Value::Int(-1),
                n.clone(),
                n.clone(),
                text("YES")
            ],
            vec![
                text("Seen"),
                text("datetime2"),
                n.clone(),
                n.clone(),
                n.clone(),
                text("YES")
            ],
            vec![
                text("Active"),
                text("bit"),
                n.clone(),
                n.clone(),
                n.clone(),
                text("YES")
            ],
        ]
    );
    let (_, r) = select(
        &mut s,
        "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.tables",
        &[],
    );
    assert_eq!(r, vec![vec![text("dbo"), text("Customer"), text("BASE TABLE")]]);
    let (_, r) = select(
        &mut s,
        "SELECT DATETIME_PRECISION FROM INFORMATION_SCHEMA.COLUMNS WHERE COLUMN_NAME = 'seen'",
        &[],
    );
    assert_eq!(r, vec![vec![Value::Int(3)]]);
}

#[test]
fn sql_server_error_numbers() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, name nvarchar(3) NOT NULL, d decimal(5,2), n tinyint)",
        &[],
    );
    assert_eq!(fails(&mut s, "SELECT * FROM missing", &[]), 208);
    assert_eq!(fails(&mut s, "SELECT nope FROM t", &[]), 207);
    assert_eq!(fails(&mut s, "INSERT INTO t (id, nope) VALUES (1, 2)", &[]), 207);
    assert_eq!(fails(&mut s, "CREATE TABLE T (a int)", &[]), 2714);
    assert_eq!(fails(&mut s, "DROP TABLE missing", &[]), 3701);
    assert_eq!(
        fails(&mut s, "INSERT INTO t (id, name) VALUES (1, 'abcd')", &[]),
        8152
    );
    assert_eq!(
        fails(&mut s, "INSERT INTO t (id, name) VALUES (1, NULL)", &[]),
        515
    );
    assert_eq!(fails(&mut s, "INSERT INTO t (id) VALUES (1)", &[]), 515);
    ok(&mut s, "INSERT INTO t (id, name) VALUES (1, 'abc')", &[]);
    assert_eq!(
        fails(&mut s, "INSERT INTO t (id, name) VALUES (1, 'x')", &[]),
        2627
    );
    assert_eq!(
        fails(&mut s, "INSERT INTO t (id, name, d) VALUES (2, 'x', 1000)", &[]),
        8115
    );
    assert_eq!(
        fails(&mut s, "INSERT INTO t (id, name, n) VALUES (2, 'x', 256)", &[]),
        8115
    );
    assert_eq!(fails(&mut s, "COMMIT", &[]), 3902);
    assert_eq!(fails(&mut s, "SELECT @P9", &[]), 137);
    let cols = s.columns("t").unwrap();
    assert_eq!(
        s.bulk_insert("t", &cols[..2], vec![vec![Value::Int(5), text("long")]])
            .unwrap_err()
            .number,
        8152
    );
    assert_eq!(
        s.bulk_insert("t", &cols[..2], vec![vec![Value::Int(5), Value::Null]])
            .unwrap_err()
            .number,
        515
    );
    assert_eq!(
        s.bulk_insert("missing", &cols[..2], vec![]).unwrap_err().number,
        208
    );
    assert_eq!(s.columns("missing").unwrap_err().number, 208);
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM t", &[]).1,
        vec![vec![Value::Int(1)]]
    );
}

#[test]
fn transactions() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(&mut s, "CREATE TABLE t (id int PRIMARY KEY)", &[]);
    assert_eq!(ok(&mut s, "BEGIN TRAN", &[]), vec![Outcome::Began]);
    assert!(s.in_transaction());
    ok(&mut s, "INSERT INTO t VALUES (1)", &[]);
    // An error inside the transaction leaves it open; the client decides.
    assert_eq!(fails(&mut s, "INSERT INTO t VALUES (1)", &[]), 2627);
    assert!(s.in_transaction());
    assert_eq!(ok(&mut s, "ROLLBACK TRANSACTION", &[]), vec![Outcome::RolledBack]);
    assert!(!s.in_transaction());
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM t", &[]).1,
        vec![vec![Value::Int(0)]]
    );
    let out = ok(
        &mut s,
        "BEGIN TRANSACTION; INSERT INTO t VALUES (2); COMMIT TRAN",
        &[],
    );
    assert_eq!(
        out,
        vec![
            Outcome::Began,
            Outcome::Done { rows: Some(1) },
            Outcome::Committed
        ]
    );
    ok(&mut s, "BEGIN TRAN", &[]);
    let columns = s.columns("t").unwrap();
    s.bulk_insert("t", &columns, vec![vec![Value::Int(3)]]).unwrap();
    s.abort();
    assert!(!s.in_transaction());
    assert_eq!(
        select(&mut s, "SELECT id FROM t", &[]).1,
        vec![vec![Value::Int(2)]]
    );
    assert_eq!(fails(&mut s, "ROLLBACK", &[]), 3903);
}

#[test]
fn concurrent_sessions_wait_for_each_other() {
    let db = db();
    ok(
        &mut db.engine.session().unwrap(),
        "CREATE TABLE t (worker int, n int)",
        &[],
    );
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let engine = db.engine.clone();
            std::thread::spawn(move || {
                let mut s = engine.session().unwrap();
                for n in 0..25 {
                    let params = [
                        p("@P1", SqlType::Int, Value::Int(w)),
                        p("@P2", SqlType::Int, Value::Int(n)),
                    ];
                    ok(&mut s, "BEGIN TRAN", &[]);
                    ok(&mut s, "INSERT INTO t (worker, n) VALUES (@P1, @P2)", &params);
                    ok(&mut s, "SELECT COUNT(*) FROM t", &[]);
                    ok(&mut s, "COMMIT", &[]);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let mut s = db.engine.session().unwrap();
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM t", &[]).1,
        vec![vec![Value::Int(100)]]
    );
}

#[test]
fn queries() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "SET NOCOUNT ON; SET XACT_ABORT ON
         CREATE TABLE r (route nvarchar(10), stop int, km float, amount decimal(10,2))
         INSERT INTO r VALUES ('R1', 1, 1.5, 10.25), ('R1', 2, 2.5, 1), ('R2', 1, 4, NULL), ('r3', 1, 0, 3)",
        &[],
    );
    let q = "SELECT route, COUNT(*) AS n, SUM(km) AS km, SUM(amount) AS total FROM r GROUP BY route ORDER BY route \
             OFFSET 1 ROWS FETCH NEXT 1 ROWS ONLY";
    let (cols, r) = select(&mut s, q, &[]);
    assert_eq!(
        cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["route", "n", "km", "total"]
    );
    assert_eq!(
        cols[3].ty,
        SqlType::Decimal {
            precision: 38,
            scale: 2
        }
    );
    assert_eq!(
        r,
        vec![vec![text("R2"), Value::Int(1), Value::Float(4.0), Value::Null]]
    );
    let (_, r) = select(
        &mut s,
        "SELECT DISTINCT TOP 2 route FROM r WHERE stop IN (1, 2) ORDER BY route DESC",
        &[],
    );
    assert_eq!(r, vec![vec![text("r3")], vec![text("R2")]]);
    let (cols, r) = select(
        &mut s,
        "SELECT CAST(km AS decimal(5,1)), route + '-' + CAST(stop AS varchar(3)) FROM r WHERE km = 2.5",
        &[],
    );
    assert_eq!(
        cols[0].ty,
        SqlType::Decimal {
            precision: 5,
            scale: 1
        }
    );
    assert_eq!(
        r,
        vec![vec![Value::Decimal { value: 25, scale: 1 }, text("R1-2")]]
    );
    let (_, r) = select(
        &mut s,
        "SELECT route FROM r WHERE km > (SELECT AVG(km) FROM r) AND route LIKE 'r%' ORDER BY km",
        &[],
    );
    assert_eq!(r, vec![vec![text("R1")], vec![text("R2")]]);
    let (_, r) = select(
        &mut s,
        "SELECT a.route, b.stop FROM r AS a LEFT JOIN r b ON a.route = b.route AND b.stop = 2 WHERE a.stop = 1 ORDER BY 1",
        &[],
    );
    assert_eq!(r.len(), 3);
    let params = [p("@P1", SqlType::NVarChar(Some(10)), text("R9"))];
    let ins =
        "INSERT INTO r (route, stop) SELECT @P1, 1 WHERE NOT EXISTS (SELECT 1 FROM r WHERE route = @P1)";
    assert_eq!(ok(&mut s, ins, &params), vec![Outcome::Done { rows: Some(1) }]);
    assert_eq!(ok(&mut s, ins, &params), vec![Outcome::Done { rows: Some(0) }]);
    let (cols, r) = select(&mut s, "SELECT 1", &[]);
    assert_eq!((cols[0].ty.clone(), r), (SqlType::Int, vec![vec![Value::Int(1)]]));
    let (_, r) = select(&mut s, "SELECT DB_NAME(), @@VERSION", &[]);
    assert_eq!(r[0][0], text("routeflow"));
    assert!(matches!(&r[0][1], Value::Text(v) if v.contains("SQL Server")));
    ok(&mut s, "TRUNCATE TABLE dbo.r", &[]);
    ok(&mut s, "ALTER TABLE r ADD note nvarchar(20) NULL", &[]);
    assert_eq!(s.columns("r").unwrap()[4].ty, SqlType::NVarChar(Some(20)));
    ok(
        &mut s,
        "IF OBJECT_ID(N'dbo.made') IS NULL CREATE TABLE made (a int)",
        &[],
    );
    ok(
        &mut s,
        "IF OBJECT_ID(N'dbo.made') IS NULL CREATE TABLE made (a int)",
        &[],
    );
    assert!(s.columns("made").is_ok());
}

#[test]
fn bulk_insert_is_fast() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE #big (k nvarchar(20) NOT NULL, d date, amount decimal(12,4), n bigint)",
        &[],
    );
    let columns = s.columns("#big").unwrap();
    let rows: Vec<Vec<Value>> = (0..100_000)
        .map(|i| {
            vec![
                text(&format!("key{i}")),
                Value::Date(738_000 + i % 365),
                Value::Decimal {
                    value: i.into(),
                    scale: 4,
                },
                Value::Int(i.into()),
            ]
        })
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(s.bulk_insert("#big", &columns, rows).unwrap(), 100_000);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert_eq!(
        select(&mut s, "SELECT COUNT(*) FROM #big", &[]).1,
        vec![vec![Value::Int(100_000)]]
    );
}

/// The statements routeflow's SQL Server sink and source send, as they send them.
#[test]
fn routeflow_sink_statements() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE [dbo].[plan] ([k] nvarchar(10) NOT NULL, [StopNo] int NULL, [custype] varchar(20) NULL)",
        &[],
    );
    ok(
        &mut s,
        "INSERT INTO [dbo].[plan] VALUES ('a', 1, 'x'), ('b', 2, 'y')",
        &[],
    );
    ok(
        &mut s,
        "DROP TABLE IF EXISTS [#stage]; CREATE TABLE [#stage] ([k] nvarchar(10) NULL, [StopNo] int NULL, [custype] varchar(20) NULL)",
        &[],
    );
    let columns = s.columns("#stage").unwrap();
    s.bulk_insert(
        "#stage",
        &columns,
        vec![
            vec![text("a"), Value::Int(5), text("x")],
            vec![text("c"), Value::Int(3), Value::Null],
        ],
    )
    .unwrap();
    ok(&mut s, "BEGIN TRAN", &[]);
    let update = "UPDATE t SET t.[StopNo] = s.[StopNo], t.[custype] = s.[custype] FROM [dbo].[plan] AS t \
                  INNER JOIN [#stage] AS s ON t.[k] = s.[k] WHERE (t.[StopNo] <> s.[StopNo] OR (t.[StopNo] IS NULL AND s.[StopNo] IS NOT NULL))";
    assert_eq!(ok(&mut s, update, &[]), vec![Outcome::Done { rows: Some(1) }]);
    let insert = "INSERT INTO [dbo].[plan] ([k], [StopNo], [custype]) SELECT s.[k], s.[StopNo], s.[custype] FROM [#stage] AS s \
                  WHERE NOT EXISTS (SELECT 1 FROM [dbo].[plan] AS t WHERE t.[k] = s.[k])";
    assert_eq!(ok(&mut s, insert, &[]), vec![Outcome::Done { rows: Some(1) }]);
    ok(&mut s, "COMMIT; DROP TABLE [#stage]", &[]);
    let (cols, r) = select(
        &mut s,
        "SELECT [StopNo], COUNT_BIG(*) FROM [dbo].[plan] GROUP BY [StopNo] ORDER BY [StopNo]",
        &[],
    );
    assert_eq!(cols[1].ty, SqlType::BigInt);
    assert_eq!(
        r,
        vec![
            vec![Value::Int(2), Value::Int(1)],
            vec![Value::Int(3), Value::Int(1)],
            vec![Value::Int(5), Value::Int(1)]
        ]
    );
    ok(
        &mut s,
        "CREATE TABLE [dbo].[plan_staging] ([k] nvarchar(10) NULL)",
        &[],
    );
    let params = [
        p("@P1", SqlType::NVarChar(Some(40)), text("dbo.plan_staging")),
        p("@P2", SqlType::NVarChar(Some(40)), text("plan")),
    ];
    let swap = "BEGIN TRAN; DROP TABLE IF EXISTS [dbo].[plan]; EXEC sp_rename @P1, @P2; COMMIT";
    assert_eq!(ok(&mut s, swap, &params).len(), 4);
    assert_eq!(s.columns("plan").unwrap().len(), 1);
    ok(
        &mut s,
        "ALTER TABLE [dbo].[plan] ADD [note] varchar(20) NULL",
        &[],
    );
    let (_, r) = select(
        &mut s,
        "SELECT COLUMN_NAME, COALESCE(NUMERIC_SCALE, DATETIME_PRECISION) FROM INFORMATION_SCHEMA.COLUMNS \
         WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 ORDER BY ORDINAL_POSITION",
        &[
            p("@P1", SqlType::NVarChar(Some(3)), text("dbo")),
            p("@P2", SqlType::NVarChar(Some(4)), text("plan")),
        ],
    );
    assert_eq!(
        r,
        vec![vec![text("k"), Value::Null], vec![text("note"), Value::Null]]
    );
}

/// The key query routeflow's source runs (`routeflow::mssql::catalog::index_key`).
const INDEX_KEY: &str = "SELECT c.name, i.is_primary_key, i.is_unique, ic.is_descending_key \
    FROM sys.indexes AS i \
    JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
    JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
    WHERE i.object_id = OBJECT_ID(@P1) AND (i.is_primary_key = 1 OR i.type = 1) AND ic.key_ordinal > 0 \
    ORDER BY i.is_primary_key DESC, i.index_id, ic.key_ordinal";

#[test]
fn sys_views_tell_primary_key_and_clustered_index() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE pk (a nvarchar(10), b int NOT NULL, c int NOT NULL, CONSTRAINT pk_pk PRIMARY KEY CLUSTERED (c, b));
         CREATE UNIQUE NONCLUSTERED INDEX ix_a ON pk (a);
         CREATE TABLE cl (a nvarchar(10), b int, c int);
         CREATE CLUSTERED INDEX ix_cl ON cl (b DESC, a);
         CREATE INDEX ix_c ON cl (c);
         CREATE TABLE heap (a nvarchar(10), b int);
         CREATE NONCLUSTERED INDEX ix_b ON heap (b)",
        &[],
    );
    let key = |s: &mut Session, table: &str| {
        let name = p("@P1", SqlType::NVarChar(Some(128)), text(table));
        select(s, INDEX_KEY, &[name]).1
    };
    let t = Value::Bool(true);
    let f = Value::Bool(false);
    assert_eq!(
        key(&mut s, "[dbo].[pk]"),
        [
            vec![text("c"), t.clone(), t.clone(), f.clone()],
            vec![text("b"), t.clone(), t.clone(), f.clone()]
        ]
    );
    assert_eq!(
        key(&mut s, "[dbo].[cl]"),
        [
            vec![text("b"), f.clone(), f.clone(), t.clone()],
            vec![text("a"), f.clone(), f.clone(), f.clone()]
        ]
    );
    assert!(key(&mut s, "[dbo].[heap]").is_empty());
    assert!(key(&mut s, "[dbo].[missing]").is_empty());
    let (_, heap) = select(
        &mut s,
        "SELECT index_id, type, type_desc FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.heap') ORDER BY index_id",
        &[],
    );
    assert_eq!(heap[0], [Value::Int(0), Value::Int(0), text("HEAP")]);
    assert_eq!(heap[1][2], text("NONCLUSTERED"));
    assert_eq!(
        fails(&mut s, "CREATE CLUSTERED INDEX ix_again ON cl (c)", &[]),
        1902
    );
    // The words are taken out by position: literals and comments keep them.
    let (_, rows) = select(
        &mut s,
        "SELECT 'CLUSTERED INDEX' AS x /* CREATE CLUSTERED INDEX */",
        &[],
    );
    assert_eq!(rows, [vec![text("CLUSTERED INDEX")]]);
}

#[test]
fn shuffled_rows_keep_what_order_by_fixes() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(&mut s, "CREATE TABLE t (k int, g nvarchar(5), v int)", &[]);
    let values: Vec<String> = (0..200)
        .map(|i| format!("({i}, '{}', {})", ["a", "A", "b"][i % 3], i % 4))
        .collect();
    ok(
        &mut s,
        &format!("INSERT INTO t VALUES {}", values.join(", ")),
        &[],
    );
    let column = |rows: &[Vec<Value>], i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
    let plain = select(&mut s, "SELECT k FROM t", &[]).1;
    s.shuffle = true;
    let shuffled = select(&mut s, "SELECT k FROM t", &[]).1;
    assert_ne!(plain, shuffled, "a heap's order is arbitrary");
    let mut sorted = shuffled.clone();
    sorted.sort_by_key(|r| match r[0] {
        Value::Int(n) => n,
        _ => unreachable!(),
    });
    assert_eq!(sorted, plain, "same rows");
    // A total order holds.
    let by_k = select(&mut s, "SELECT k FROM t ORDER BY k DESC", &[]).1;
    assert_eq!(by_k.first().unwrap()[0], Value::Int(199));
    assert!(by_k.windows(2).all(|w| w[0][0] != w[1][0]));
    assert_eq!(select(&mut s, "SELECT k FROM t ORDER BY k DESC", &[]).1, by_k);
    // A prefix holds; rows tied on it (here 'a' and 'A' under the case-insensitive collation)
    // come in a different order from one read to the next.
    let reads: Vec<Vec<Vec<Value>>> = (0..5)
        .map(|_| select(&mut s, "SELECT g, v, k FROM t ORDER BY g, v", &[]).1)
        .collect();
    for rows in &reads {
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|r| match (&r[0], &r[1]) {
                (Value::Text(g), Value::Int(v)) => (g.to_lowercase(), *v),
                _ => unreachable!(),
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "sorted by the ORDER BY");
    }
    assert!(
        reads.windows(2).any(|w| column(&w[0], 2) != column(&w[1], 2)),
        "ties are shuffled"
    );
    // A set operation without ORDER BY is shuffled too; with one it is sorted.
    let union = "SELECT k FROM t WHERE k < 100 UNION ALL SELECT k FROM t WHERE k >= 100";
    let reads: Vec<_> = (0..3).map(|_| select(&mut s, union, &[]).1).collect();
    assert!(reads.windows(2).any(|w| w[0] != w[1]));
    let sorted_union = select(&mut s, &format!("{union} ORDER BY k"), &[]).1;
    assert_eq!(sorted_union, plain);
}

/// Bracketed names are taken by their value: `[a]]b[]` is the column `a]b[`, in an INSERT's column
/// list, an UPDATE's SET and a key (the brackets were once trimmed off the text, eating the `[`).
#[test]
fn bracketed_names_keep_their_brackets() {
    let db = db();
    let mut s = db.engine.session().unwrap();
    ok(
        &mut s,
        "CREATE TABLE t ([a]]b[] nvarchar(20), [\"q\"] int, PRIMARY KEY ([a]]b[])); \
         INSERT INTO t ([a]]b[], [\"q\"]) VALUES (@P1, 1); UPDATE t SET [\"q\"] = 2 WHERE [a]]b[] = @P1",
        &[p("@P1", SqlType::NVarChar(Some(20)), text("O'Brien"))],
    );
    let (columns, rows) = select(&mut s, "SELECT [a]]b[], [\"q\"] FROM t", &[]);
    assert_eq!(columns[0].name, "a]b[");
    assert_eq!(rows, [vec![text("O'Brien"), Value::Int(2)]]);
}
