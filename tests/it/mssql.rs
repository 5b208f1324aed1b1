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

/// Tests against one real server share its tables, so they take turns.
static REAL_SERVER: Mutex<()> = Mutex::new(());
const RESULT_TABLE: &str = "RoutePlanResult";
/// `routeflow run` from SQL Server back to SQL Server, without a snapshot.
const RUN_MSSQL: &[&str] = &[
    "-q",
    "run",
    "--input",
    "mssql",
    "--output",
    "mssql",
    "--no-snapshot",
];
const TABLES: [&str; 7] = [
    "MonthlyRoutePlan_temp",
    "customer",
    "prospective",
    "custvisit",
    "distributors",
    RESULT_TABLE,
    "RoutePlanResult__rf_new",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_write_back_equals_the_file_path() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let plan_rows = db.read("MonthlyRoutePlan_temp").await.len();
        db.ok(RUN_MSSQL);
        let written = db.read("MonthlyRoutePlan_temp").await;
        assert!(written.len() > plan_rows, "prospects were added");
        assert_eq!(written.len(), expected.len());
        assert!(
            written == expected,
            "the SQL Server table differs from the file result"
        );

        // Rule 10 through SQL Server: a second run changes nothing and writes nothing.
        let json = db.ok(&[RUN_MSSQL, &["--json"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(summary["sink"]["rows_updated"], 0, "{json}");
        assert_eq!(summary["sink"]["rows_inserted"], 0, "{json}");
        assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_write_equals_the_file_path_and_replaces_atomically() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let args = [RUN_MSSQL, &["--write", "table", RESULT_TABLE]].concat();
        db.ok(&args);
        assert_eq!(db.read(RESULT_TABLE).await, expected);
        // Replaced, not appended to; the staging table is gone; the plan table is untouched.
        db.ok(&args);
        assert_eq!(db.read(RESULT_TABLE).await, expected);
        let db_pool = db.pool();
        assert!(
            catalog::columns(&db_pool, "RoutePlanResult__rf_new")
                .await
                .unwrap()
                .is_none()
        );
        assert!(db.read("MonthlyRoutePlan_temp").await.len() < expected.len());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_widths_truncate_and_report_or_refuse() {
    on_each_target(|db| async move {
        db.create_schema(false).await;
        db.load_fixtures().await;
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--strict-widths"]].concat());
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("MonthlyRoutePlan_temp.Name of ("), "{stderr}");
        assert!(stderr.contains("the column 15"), "{stderr}");

        let json = db.ok(&[RUN_MSSQL, &["--json"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        let count = summary["truncations"]["count"].as_u64().unwrap();
        assert!(count > 0, "{json}");
        assert!(
            summary["truncations"]["examples"][0]
                .as_str()
                .unwrap()
                .contains(".Name of (")
        );
        let added: Vec<Row> = db
            .read("MonthlyRoutePlan_temp")
            .await
            .into_iter()
            .filter(|r| r["custype"].as_deref() == Some("prospect"))
            .collect();
        assert!(!added.is_empty());
        assert!(
            added
                .iter()
                .all(|r| r["Name"].as_deref().is_none_or(|n| n.chars().count() <= 15))
        );
    })
    .await;
}

/// Rule 8 in `routeflow copy`, as in the sink: values too long for their column are found before
/// anything is deleted. With `--strict-widths` the copy is refused and the table keeps its rows (no
/// DELETE ever reaches the server); without it the values are cut, counted, and the table replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_checks_widths_before_deleting_anything() {
    on_each_target(|db| async move {
        db.exec(
            "DROP TABLE IF EXISTS distributors; CREATE TABLE distributors (DistributorID nvarchar(50), \
             Latitude float, Longitude float, Name nvarchar(10), Address nvarchar(400)); \
             INSERT INTO distributors VALUES (N'KEEP', 1.5, 2.5, N'kept', N'here')",
        )
        .await;
        if let Some(server) = &db.server {
            server.reset_stats();
        }
        let copy = [
            "-q",
            "copy",
            "--from",
            FIXTURES,
            "--to",
            "mssql",
            "--tables",
            "distributors",
        ];
        let (code, _, stderr) = db.run(&[&copy[..], &["--strict-widths"]].concat());
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("--strict-widths") && stderr.contains("Name"),
            "{stderr}"
        );
        let kept = db.read("distributors").await;
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0]["DistributorID"].as_deref(), Some("KEEP"));
        if let Some(server) = &db.server {
            let requests = server.requests();
            assert!(
                !requests.iter().any(|r| r.to_uppercase().contains("DELETE")),
                "refused before deleting: {requests:#?}"
            );
        }

        let stdout = db.ok(&copy);
        assert!(stdout.contains("truncated values"), "{stdout}");
        let rows = db.read("distributors").await;
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows.iter().all(|r| r["Name"].as_deref() == Some("Golden Har")),
            "{rows:?}"
        );
    })
    .await;
}

/// Statements per write unit are a fixed handful: the count does not grow with rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_statements_grow_with_units_not_rows() {
    let db = TestDb::test_server();
    db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.reset_stats();
    db.ok(&[RUN_MSSQL, &["--json", "--concurrency", "2"]].concat());
    let stats = server.stats();
    let requests = server.requests();
    let units = 2; // one per connection: the fixtures' three distributors in two units
    let bulk = requests
        .iter()
        .filter(|r| r.to_uppercase().starts_with("INSERT BULK"))
        .count();
    assert_eq!(bulk, units, "{requests:#?}");
    assert!(stats.bulk_rows > 2000, "{stats:?}");
    // Reading (catalog, distribution, five tables) plus at most 10 per unit.
    let total = stats.batches + stats.rpcs + stats.bulk_loads;
    assert!(
        total <= 20 + 10 * units as u64,
        "{total} requests for {} rows: {requests:#?}",
        stats.bulk_rows
    );
}

/// A connection dropped in the middle of a partition's bulk load: the partition is retried on a new
/// connection and the table ends as after a clean run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_mid_write_is_retried() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    let drop_mid_load = || Fault {
        when: FaultMatch::Contains("INSERT BULK".into()),
        action: FaultAction::DropAfterBytes(3000),
        times: 1,
    };
    let retried = |extra: &[&str]| {
        let json = db.ok(&[RUN_MSSQL, &["--json", "--retry-backoff-ms", "50"], extra].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(summary["sink"]["failed"].as_array().unwrap().len(), 0, "{json}");
    };
    // Into a new table too: the retried partition's rows are there once.
    server.inject(drop_mid_load());
    retried(&["--write", "table", RESULT_TABLE]);
    assert_eq!(db.read(RESULT_TABLE).await, expected);
    server.inject(drop_mid_load());
    retried(&[]);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
}

/// A deadlock on one partition: retried. Failing for good: the run exits 2 naming the partition,
/// the others are written, and a re-run completes the table without doubling anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocked_partition_is_retried_or_completed_by_a_rerun() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    let deadlock = |times| {
        Fault {
        when: FaultMatch::Contains("UPDATE t SET".into()),
        action: FaultAction::Error {
            number: 1205,
            message: "Transaction (Process ID 61) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.".into(),
        },
        times,
    }
    };
    let run = [RUN_MSSQL, &["--json", "--retry-backoff-ms", "20"]].concat();

    // Once: the retry succeeds.
    server.inject(deadlock(1));
    db.ok(&run);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);

    // Every time for one unit (more than the retries): exit 2, its distributors listed. Units
    // apply in order, so the first one (holding D001) takes all four deadlocks; the second is written.
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.inject(deadlock(4));
    let (code, stdout, stderr) = db.run(&[&run[..], &["--retries", "3", "--concurrency", "2"]].concat());
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let failed = summary["sink"]["failed"].as_array().unwrap();
    assert!((1..3).contains(&failed.len()), "{stdout}");
    assert_eq!(failed[0]["partition"], "DistributorID=D001", "{stdout}");
    for f in failed {
        assert!(f["error"].as_str().unwrap().contains("deadlock"), "{stdout}");
    }
    let partial = db.read("MonthlyRoutePlan_temp").await;
    assert_ne!(partial, expected);
    server.clear_faults();
    db.ok(&run);
    assert_eq!(db.read("MonthlyRoutePlan_temp").await, expected);
}

/// Password and connection string stay out of errors; errors name the server and database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_server_never_the_password() {
    let db = TestDb::test_server();
    // A dry run with this connection string: its exit code and standard error.
    let dry_run = |conn: &str| {
        let out = routeflow()
            .env("ROUTEFLOW_MSSQL", conn)
            .args([
                "-q",
                "run",
                "--input",
                "mssql",
                "--dry-run",
                "--mssql-connect-timeout",
                "3",
            ])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = dry_run(&db.conn.replace("Test-Secret-42", "Wrong-Secret-7"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("Wrong-Secret-7"), "{stderr}");
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(stderr.contains("routes"), "{stderr}");
    assert!(
        stderr.contains("18456") || stderr.contains("Login failed"),
        "{stderr}"
    );

    // Nothing listening: the cause, not a bare timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = db.server.as_ref().unwrap().port();
    let (code, stderr) = dry_run(&db.conn.replace(&format!(",{port}"), &format!(",{closed}")));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect") && stderr.contains("refused"),
        "{stderr}"
    );

    let db2 = TestDb::test_server();
    db2.create_schema(true).await;
    db2.exec("DROP TABLE customer").await;
    let (code, _, stderr) = db2.run(&["-q", "run", "--input", "mssql", "--dry-run"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("table dbo.customer does not exist"), "{stderr}");

    let out = routeflow()
        .env_remove("ROUTEFLOW_MSSQL")
        .args(["-q", "run", "--input", "mssql", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("ROUTEFLOW_MSSQL"), "{stderr}");
}

/// Filters reach the server as parameters; the plan is read by several connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_push_filters_as_parameters_and_partition_the_plan() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.ok(&["-q", "copy", "--from", FIXTURES, "--to", "mssql"]);
    let server = db.server.as_ref().unwrap();
    server.reset_stats();
    let out = db.ok(&[
        "-q", "sql", "--input", "mssql", "--format", "csv", "--concurrency", "2",
        "SELECT COUNT(*) AS n FROM MonthlyRoutePlan_temp WHERE DistributorID = 'D002' AND RouteDate >= DATE '2026-12-01'",
    ]);
    let requests = server.requests();
    let scan = requests
        .iter()
        .find(|r| r.contains("FROM [dbo].[MonthlyRoutePlan_temp] WHERE"))
        .unwrap_or_else(|| panic!("{requests:#?}"));
    assert!(
        scan.contains("[DistributorID] = @P1") && scan.contains("[RouteDate] >= @P2"),
        "{scan}"
    );
    assert!(!scan.contains("D002"), "values are parameters: {scan}");
    let n: u64 = out.lines().nth(1).unwrap().parse().unwrap();
    let expected = db
        .read("MonthlyRoutePlan_temp")
        .await
        .iter()
        .filter(|r| r["DistributorID"].as_deref() == Some("D002"))
        .count() as u64;
    assert_eq!(n, expected);

    server.reset_stats();
    db.ok(&[
        "-q",
        "sql",
        "--input",
        "mssql",
        "--format",
        "csv",
        "--concurrency",
        "3",
        "SELECT COUNT(*) FROM MonthlyRoutePlan_temp",
    ]);
    let ranges = server
        .requests()
        .iter()
        .filter(|r| r.contains("FROM [dbo].[MonthlyRoutePlan_temp] WHERE [DistributorID] >= @P1"))
        .count();
    assert_eq!(ranges, 3, "{:#?}", server.requests());
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

/// The in-place write reads the plan table whole a fixed number of times, however many distributors
/// there are (the stand-in counts the statements whose plan scans it; the table is a heap, as in
/// production). Before write units it was twice per distributor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_write_reads_the_plan_table_a_fixed_number_of_times() {
    let mut scans = Vec::new();
    for factor in ["1", "4"] {
        let db = TestDb::test_server();
        db.create_schema(true).await;
        let data = db.dir.path().join("generated");
        db.ok(&[
            "-q",
            "generate",
            "--scale",
            "small",
            "--factor",
            factor,
            "--output",
            data.to_str().unwrap(),
        ]);
        db.ok(&["-q", "copy", "--from", data.to_str().unwrap(), "--to", "mssql"]);
        let server = db.server.as_ref().unwrap();
        server.reset_stats();
        let json = db.ok(&[RUN_MSSQL, &["--json", "--concurrency", "2"]].concat());
        let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(summary["sink"]["rows_updated"].as_u64().unwrap() > 0, "{json}");
        assert!(summary["sink"]["rows_inserted"].as_u64().unwrap() > 0, "{json}");
        let partitions = summary["sink"]["partitions"].as_u64().unwrap();
        let stats = server.stats();
        let plan = stats
            .full_scans
            .get("monthlyrouteplan_temp")
            .copied()
            .unwrap_or(0);
        scans.push((partitions, plan, stats.full_scans));
    }
    let (few, many) = (&scans[0], &scans[1]);
    assert_eq!((few.0, many.0), (3, 12), "distributors: {scans:?}");
    // Reading: the distribution query, one SELECT per connection and one for rows without a
    // distributor; writing: the UPDATE and the INSERT's NOT EXISTS of each of the two units.
    assert!(few.1 > 0, "the counter sees the reads: {scans:?}");
    assert_eq!(few.1, many.1, "whole reads of the plan table: {scans:?}");
    assert!(
        many.1 <= 2 + 2 + 2 * 2,
        "whole reads of the plan table: {scans:?}"
    );
}

/// Rule 9's read order: the primary key, else the clustered index, else the contract columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_order_is_primary_key_else_clustered_index_else_contract_columns() {
    on_each_target(|db| async move {
        for t in ["rf_order_pk", "rf_order_cl", "rf_order_heap"] {
            db.exec(&format!("DROP TABLE IF EXISTS {t}")).await;
        }
        db.exec(
            "CREATE TABLE rf_order_pk (a nvarchar(10), b int NOT NULL, c int NOT NULL, n nvarchar(max), \
               CONSTRAINT pk_rf_order_pk PRIMARY KEY (c, b)); \
             CREATE INDEX ix_rf_order_pk ON rf_order_pk (a); \
             CREATE TABLE rf_order_cl (a nvarchar(10), b int, n nvarchar(max)); \
             CREATE CLUSTERED INDEX ix_rf_order_cl ON rf_order_cl (b, a); \
             CREATE TABLE rf_order_heap (a nvarchar(10), b int); \
             CREATE INDEX ix_rf_order_heap ON rf_order_heap (b)",
        )
        .await;
        let pool = db.pool();
        let key = |names: &[&str]| names.iter().map(|n| OrderKey::asc(n)).collect::<Vec<_>>();
        assert_eq!(
            catalog::index_key(&pool, "rf_order_pk").await.unwrap(),
            Some((OrderSource::PrimaryKey, key(&["c", "b"])))
        );
        let clustered = catalog::index_key(&pool, "rf_order_cl").await.unwrap();
        if db.babelfish {
            // Babelfish has no clustered indexes: sys.indexes reports every index NONCLUSTERED (type 2),
            // so the table reads as a heap there. SQL Server reports type 1.
            assert_eq!(clustered, None);
        } else {
            assert_eq!(
                clustered,
                Some((OrderSource::ClusteredIndex { unique: false }, key(&["b", "a"])))
            );
        }
        assert_eq!(catalog::index_key(&pool, "rf_order_heap").await.unwrap(), None);
        assert_eq!(catalog::index_key(&pool, "rf_no_such_table").await.unwrap(), None);

        // The contract tables as the fixtures' DDL declares them: heaps, read in contract column order
        // (the plan by all its columns: contract ones first, then any other orderable ones).
        db.create_schema(true).await;
        db.exec(
            "ALTER TABLE MonthlyRoutePlan_temp ADD Remarks nvarchar(50); \
             ALTER TABLE MonthlyRoutePlan_temp ADD Notes nvarchar(max)",
        )
        .await;
        let order = |table: &'static str| {
            let pool = Arc::clone(&pool);
            async move {
                MssqlTable::open(pool, table, 100, 1)
                    .await
                    .unwrap()
                    .read_order()
                    .clone()
            }
        };
        let customer = order("customer").await;
        assert_eq!(customer.source, OrderSource::Columns);
        assert_eq!(
            customer.order_by(),
            " ORDER BY [CustNo], [latitude], [longitude], [address3]"
        );
        assert_eq!(
            order("MonthlyRoutePlan_temp").await.order_by(),
            " ORDER BY [CustNo], [RouteDate], [Name], [WD], [SalesManTerritory], [AgentID], [RouteName], \
             [DistributorID], [RouteCode], [SalesOfficeID], [StopNo], [custype], [Remarks]"
        );
        db.exec(
            "DROP TABLE customer; CREATE TABLE customer (CustNo nvarchar(50) NOT NULL PRIMARY KEY, \
             latitude decimal(10,7), longitude decimal(10,7), address3 nvarchar(50))",
        )
        .await;
        let customer = order("customer").await;
        assert_eq!(customer.source, OrderSource::PrimaryKey);
        // (Babelfish's sys.columns spells it in lower case; T-SQL names are case-insensitive.)
        assert_eq!(customer.order_by().to_lowercase(), " order by [custno]");
    })
    .await;
}

/// Rule 9 through SQL Server: "the first row wins" rules give the same result however the server
/// orders rows. The stand-in returns every SELECT's rows in a random order (keeping what an ORDER BY
/// fixes); duplicates make the first row matter: customers, prospects and distributors listed twice
/// with other coordinates, plan rows repeated with other fields (the template of added rows), and
/// plan rows equal in every contract column but one extra column (their order in the output).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_reads_give_identical_output() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.ok(&["-q", "copy", "--from", FIXTURES, "--to", "mssql"]);
    db.exec(
        "INSERT INTO customer (CustNo, latitude, longitude, address3) \
           SELECT CustNo, latitude + 0.02, longitude - 0.02, address3 FROM customer \
           WHERE CustNo IN (SELECT CustNo FROM MonthlyRoutePlan_temp); \
         INSERT INTO customer (CustNo, latitude, longitude, address3) \
           SELECT CustNo, latitude - 0.01, longitude + 0.01, N'elsewhere' FROM customer \
           WHERE CustNo IN (SELECT CustNo FROM MonthlyRoutePlan_temp); \
         INSERT INTO prospective (tdlinx, latitude, longitude, barangay_code, store_name_nielsen) \
           SELECT tdlinx, latitude + 0.01, longitude + 0.01, barangay_code, store_name_nielsen + N' (2)' \
           FROM prospective; \
         INSERT INTO distributors (DistributorID, Latitude, Longitude, Name, Address) \
           SELECT DistributorID, Latitude + 0.05, Longitude - 0.05, Name, Address FROM distributors; \
         INSERT INTO MonthlyRoutePlan_temp \
           SELECT CustNo, RouteDate, Name, WD + 1, SalesManTerritory, AgentID, RouteName + N' b', \
             DistributorID, RouteCode, SalesOfficeID, StopNo, custype \
           FROM MonthlyRoutePlan_temp AS p \
           WHERE CustNo = (SELECT MIN(q.CustNo) FROM MonthlyRoutePlan_temp AS q \
             WHERE q.DistributorID = p.DistributorID AND q.AgentID = p.AgentID AND q.RouteDate = p.RouteDate)",
    )
    .await;
    db.exec("ALTER TABLE MonthlyRoutePlan_temp ADD Remarks nvarchar(50)")
        .await;
    db.exec(
        "INSERT INTO MonthlyRoutePlan_temp \
           SELECT CustNo, RouteDate, Name, WD, SalesManTerritory, AgentID, RouteName, DistributorID, \
             RouteCode, SalesOfficeID, StopNo, custype, N'copy' \
           FROM MonthlyRoutePlan_temp WHERE WD % 2 = 0",
    )
    .await;
    let server = db.server.as_ref().unwrap();
    let dir = db.dir.path().to_path_buf();
    let run = |name: &str| {
        let out = dir.join(name);
        db.ok(&[
            "-q",
            "run",
            "--input",
            "mssql",
            "--output",
            out.to_str().unwrap(),
            "--no-snapshot",
        ]);
        out
    };
    server.reset_stats();
    let reference_dir = run("in-order");
    let reads = server.requests();
    for (table, keys) in [
        ("customer", "[CustNo], [latitude], [longitude], [address3]"),
        (
            "prospective",
            "[tdlinx], [latitude], [longitude], [barangay_code], [store_name_nielsen]",
        ),
        (
            "distributors",
            "[DistributorID], [Latitude], [Longitude], [Name], [Address]",
        ),
        ("MonthlyRoutePlan_temp", "[CustNo], [RouteDate], [Name], [WD]"),
    ] {
        let from = format!("FROM [dbo].[{table}]");
        assert!(
            reads
                .iter()
                .any(|r| r.contains(&from) && r.contains(&format!("ORDER BY {keys}"))),
            "{table} is read ORDER BY {keys}: {reads:#?}"
        );
    }
    // Visits are a set (was a store visited?): read in whatever order, and shuffled below too.
    assert!(
        reads
            .iter()
            .any(|r| r.contains("FROM [dbo].[custvisit]") && !r.contains("ORDER BY")),
        "custvisit is read without ORDER BY: {reads:#?}"
    );
    let reference = output_files(&reference_dir);
    let reference_rows = read_output(&reference_dir).await;
    assert!(
        reference_rows
            .iter()
            .any(|r| r["Remarks"].as_deref() == Some("copy"))
    );

    server.shuffle_rows(true);
    for i in 0..10 {
        let out = run(&format!("shuffled-{i}"));
        let rows = read_output(&out).await;
        let first_difference = reference_rows.iter().zip(&rows).position(|(a, b)| a != b);
        assert!(
            rows.len() == reference_rows.len() && first_difference.is_none(),
            "shuffled read {i}: {} rows against {}; first different row {first_difference:?}: {:?} against {:?}",
            rows.len(),
            reference_rows.len(),
            first_difference.map(|d| &rows[d]),
            first_difference.map(|d| &reference_rows[d]),
        );
        assert!(
            output_files(&out) == reference,
            "shuffled read {i}: the files differ"
        );
    }
}

/// Every file of the output table under `out` (not the summary, which has timings), by relative
/// path, with its bytes.
fn output_files(out: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let dir = &out.join("MonthlyRoutePlan_temp");
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    assert!(!files.is_empty(), "{} holds no file", dir.display());
    files
}

/// A batch run reads each SQL Server table once into temporary Parquet files (not into memory),
/// reads those for every stage, and removes them when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_read_goes_to_temporary_files_removed_after_the_run() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let tmp = db.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = db.dir.path().join("out");
    let output = db
        .routeflow()
        .env("TMPDIR", &tmp)
        .env("RUST_LOG", "warn,routeflow::source::spill=debug")
        .args([
            "--log-format",
            "json",
            "run",
            "--input",
            "mssql",
            "--output",
            out.to_str().unwrap(),
            "--no-snapshot",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for table in [
        "MonthlyRoutePlan_temp",
        "customer",
        "prospective",
        "custvisit",
        "distributors",
    ] {
        let line = stderr
            .lines()
            .find(|l| {
                l.contains("read once into temporary files") && l.contains(&format!("\"table\":\"{table}\""))
            })
            .unwrap_or_else(|| panic!("no temporary files for {table}:\n{stderr}"));
        assert!(line.contains(tmp.to_str().unwrap()), "{line}");
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let mut rows = read_output(&out).await;
    rows.sort();
    assert!(rows == expected, "the result differs from the file path's");
}
