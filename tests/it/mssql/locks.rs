//! One run per SQL Server target (an application lock), and what a stopped run leaves there. The
//! lock tests run on every target (Babelfish has `sp_getapplock`, not `sys.dm_tran_locks`, so there
//! the holder is "another session"); the signal tests need the test server's delays.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arrow::array::StringArray;
use datafusion::prelude::SessionContext;
use routeflow::shutdown::{Shutdown, Signal};
use routeflow::sink::mssql::{MssqlSinkOptions, WriteMode};
use routeflow::sink::mssql_output::MssqlOutput;
use routeflow::sink::output::Output;
use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::*;

const PLAN: &str = "MonthlyRoutePlan_temp";
/// A second `--write table` target (dropped by `create_schema`).
const OTHER_TABLE: &str = "RoutePlanOther";
/// Generous safety nets, never measured: a run on the fixtures takes seconds.
const PATIENCE: Duration = Duration::from_secs(180);

type Tds = Client<Compat<TcpStream>>;

/// A session of the test's own holding a target's lock, as another run would.
struct Holder {
    client: Tds,
    resource: String,
}

impl Holder {
    /// A connection named `program` in the server's session list.
    async fn connect(db: &TestDb, program: &str) -> Tds {
        let mut config = Config::from_ado_string(&db.conn).unwrap();
        config.application_name(program);
        let tcp = TcpStream::connect(config.get_addr()).await.unwrap();
        Client::connect(config, tcp.compat_write()).await.unwrap()
    }

    /// Takes the lock a run writing `table` takes: `routeflow:<database>.dbo.<table>`, lower case.
    async fn take(db: &TestDb, table: &str, program: &str) -> Self {
        let mut client = Self::connect(db, program).await;
        let database = scalar_text(&mut client, "SELECT DB_NAME()", &[]).await;
        let resource = format!("routeflow:{database}.dbo.{table}").to_lowercase();
        let sql = "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @P1, @LockMode = 'Exclusive', \
                   @LockOwner = 'Session', @LockTimeout = 1000; SELECT @r";
        let rows = client
            .query(sql, &[&resource.as_str()])
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        assert_eq!(rows[0].get::<i32, _>(0), Some(0), "the test's lock on {resource}");
        Self { client, resource }
    }

    async fn release(&mut self) {
        let sql =
            "DECLARE @r int; EXEC @r = sp_releaseapplock @Resource = @P1, @LockOwner = 'Session'; SELECT @r";
        let rows = self
            .client
            .query(sql, &[&self.resource.as_str()])
            .await
            .unwrap()
            .into_first_result()
            .await
            .unwrap();
        assert_eq!(rows[0].get::<i32, _>(0), Some(0));
    }
}

async fn scalar_text(client: &mut Tds, sql: &str, params: &[&dyn tiberius::ToSql]) -> String {
    let row = client.query(sql, params).await.unwrap().into_row().await.unwrap();
    row.and_then(|r| r.get::<&str, _>(0).map(str::to_string))
        .unwrap_or_default()
}

/// A `routeflow` process watched line by line: its standard error arrives as it is written.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: String,
    stdout: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            stderr: String::new(),
            stdout,
        }
    }

    /// Waits for a line of standard error containing `needle`.
    fn wait_for_line(&mut self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.stderr.push_str(&line);
                self.stderr.push('\n');
                if line.contains(needle) {
                    return;
                }
            }
        }
        panic!("no {needle:?} from routeflow:\n{}", self.stderr);
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let done = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(done, 0, "kill failed");
    }

    /// The exit code (`None` when a signal killed it), standard output and standard error.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("routeflow did not end:\n{}", self.stderr);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = self.stdout.join().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        (status.code(), stdout, self.stderr)
    }
}

/// Waits until the test server has received a request containing `needle` (the delayed one).
fn wait_for_request(server: &ServerHandle, needle: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !server.requests().iter().any(|r| r.contains(needle)) {
        assert!(Instant::now() < deadline, "no request with {needle:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_a_locked_target_writes_nothing_and_exits_4_naming_the_holder() {
    on_each_target(|db| async move {
        db.create_schema(true).await;
        db.load_fixtures().await;
        let before = db.read(PLAN).await;
        let mut holder = Holder::take(&db, PLAN, "nightly-holder (test)").await;

        let (code, _, stderr) = db.run(RUN_MSSQL);
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("target busy"), "{stderr}");
        assert!(stderr.contains(&holder.resource), "the lock is named: {stderr}");
        if db.babelfish {
            db.skip(
                "naming the holding session",
                "Babelfish has no sys.dm_tran_locks: the holder is \"another session\"",
            );
            assert!(stderr.contains("another session"), "{stderr}");
        } else {
            assert!(
                stderr.contains("nightly-holder (test)"),
                "the holder is named: {stderr}"
            );
        }
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--wait-lock", "1"]].concat());
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("waited 1s"), "{stderr}");
        assert_eq!(db.read(PLAN).await, before, "nothing was written");
        holder.release().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_lock_succeeds_when_the_holder_releases_within_the_wait() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let mut holder = Holder::take(&db, PLAN, "nightly-holder (test)").await;
        let mut run = Running::start(db.routeflow().args(RUN_MSSQL).args(["--wait-lock", "600"]));
        // The run's lock connection is in; give its request a moment to arrive (it waits either way).
        let deadline = Instant::now() + PATIENCE;
        while routeflow_sessions(&mut holder.client).await == 0 {
            assert!(Instant::now() < deadline, "the run never connected");
            assert!(
                run.child.try_wait().unwrap().is_none(),
                "the run ended without waiting"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        holder.release().await;
        run.wait_for_line("target locked for this run");
        let (code, _, stderr) = run.finish();
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(db.read(PLAN).await, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_holder_connection_frees_the_lock() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let holder = Holder::take(&db, PLAN, "nightly-holder (test)").await;
        let (code, _, stderr) = db.run(RUN_MSSQL);
        assert_eq!(code, 4, "{stderr}");
        drop(holder);
        // The server ends the dropped session on its own time; the wait is only a safety net.
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--wait-lock", "60"]].concat());
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(db.read(PLAN).await, expected);
    })
    .await;
}

/// A run killed (SIGKILL) while it holds the lock leaves nothing stuck: its connection ends, and
/// the server releases the lock with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_leaves_no_lock_behind() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let mut run = Running::start(db.routeflow().args(RUN_MSSQL));
        run.wait_for_line("target locked for this run");
        run.signal(libc::SIGKILL);
        let (code, _, _) = run.finish();
        assert_eq!(code, None, "killed");
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--wait-lock", "60"]].concat());
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(db.read(PLAN).await, expected);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_different_tables_do_not_block_each_other_but_runs_of_one_table_do() {
    on_each_target(|db| async move {
        let expected = db.load_fixtures_and_file_result(true).await;
        let (a, other) = (RESULT_TABLE, OTHER_TABLE);
        let mut holder = Holder::take(&db, a, "nightly-holder (test)").await;
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--write", "table", other]].concat());
        assert_eq!(code, 0, "table {other} is not blocked by {a}'s lock: {stderr}");
        assert_eq!(db.read(other).await, expected);
        let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--write", "table", a]].concat());
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains(&holder.resource), "{stderr}");
        let (code, _, stderr) = db.run(RUN_MSSQL);
        assert_eq!(code, 0, "in place (the plan table) is another target: {stderr}");
        holder.release().await;
    })
    .await;
}

/// Two real runs overlapping on the test server: the second run of the same table exits 4 naming
/// the first (its run id, pid and host), a run of another table is not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_table_names_the_first_run() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let server = db.server.as_ref().unwrap();
    server.inject(Fault {
        when: FaultMatch::Contains("INSERT BULK".into()),
        action: FaultAction::Delay(Duration::from_secs(5)),
        times: 1,
    });
    let mut first = Running::start(
        db.routeflow()
            .args(RUN_MSSQL)
            .args(["--write", "table", RESULT_TABLE]),
    );
    first.wait_for_line("target locked for this run");
    let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--write", "table", RESULT_TABLE]].concat());
    assert_eq!(code, 4, "{stderr}");
    let pid = format!("pid {} host", first.child.id());
    assert!(
        stderr.contains("routeflow run ") && stderr.contains(&pid),
        "names the first run: {stderr}"
    );
    let (code, _, stderr) = db.run(&[RUN_MSSQL, &["--write", "table", OTHER_TABLE]].concat());
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = first.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(db.read(RESULT_TABLE).await, expected);
}

/// Sessions of routeflow runs' locks (named `routeflow run …`) the server lists.
async fn routeflow_sessions(client: &mut Tds) -> i32 {
    let sql = "SELECT COUNT(*) FROM sys.dm_exec_sessions WHERE program_name LIKE 'routeflow run%'";
    let row = client.query(sql, &[]).await.unwrap().into_row().await.unwrap();
    row.and_then(|r| r.get::<i32, _>(0)).unwrap_or(0)
}

/// The plan table as a batch with every `custype` changed: what a write would visibly apply.
async fn changed_plan(db: &TestDb) -> RecordBatch {
    let batch = db.read_batch(PLAN).await;
    let at = batch.schema().index_of("custype").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[at] = Arc::new(StringArray::from(vec!["stop-test"; batch.num_rows()]));
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

/// The sink itself, with a stop asked for before it writes: nothing is written, in either mode,
/// and every partition is `interrupted` (not failed). Without the stop the same write shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_before_the_write_writes_nothing_and_interrupts_every_partition() {
    on_each_target(|db| async move {
        db.create_schema(true).await;
        db.load_fixtures().await;
        let before = db.read(PLAN).await;
        let batch = changed_plan(&db).await;
        for mode in [WriteMode::InPlace, WriteMode::Table(RESULT_TABLE.into())] {
            let output = MssqlOutput::new(
                db.pool(),
                MssqlSinkOptions {
                    mode: mode.clone(),
                    strict_widths: false,
                    concurrency: 2,
                    retries: 0,
                    backoff: Duration::from_millis(10),
                },
            );
            let write = |shutdown: Shutdown| {
                let (output, batch) = (&output, batch.clone());
                async move {
                    let ctx = SessionContext::new();
                    let df = ctx.read_batch(batch).unwrap();
                    output.write(&ctx, PLAN, df, &shutdown).await.unwrap()
                }
            };
            let stopped = Shutdown::new();
            stopped.request(Signal::Terminate);
            let written = write(stopped).await;
            assert!(!written.partitions.is_empty(), "{mode:?}");
            for p in &written.partitions {
                assert_eq!(p.status, "interrupted", "{mode:?}: {p:?}");
            }
            assert!(written.partial(), "not held against the plan's row count");
            assert_eq!(db.read(PLAN).await, before, "{mode:?}: nothing written");
            let pool = db.pool();
            assert!(catalog::columns(&pool, RESULT_TABLE).await.unwrap().is_none());
            assert!(
                catalog::columns(&pool, "RoutePlanResult__rf_new")
                    .await
                    .unwrap()
                    .is_none(),
                "not even a staging table"
            );

            // The control: the same write, not stopped, is seen.
            let written = write(Shutdown::new()).await;
            assert!(
                written.partitions.iter().all(|p| p.status == "written"),
                "{mode:?}"
            );
            let table = match &mode {
                WriteMode::InPlace => PLAN,
                WriteMode::Table(name) => name.as_str(),
            };
            let after = db.read(table).await;
            assert!(after.iter().any(|r| r["custype"].as_deref() == Some("stop-test")));
            db.create_schema(true).await;
            db.load_fixtures().await;
        }
    })
    .await;
}

/// Rows by the manifest's partition label (`DistributorID=D001`, `DistributorID=NULL`), sorted.
fn by_distributor(rows: &[Row]) -> BTreeMap<String, Vec<Row>> {
    let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in rows {
        let key = row["DistributorID"].as_deref().unwrap_or("NULL");
        groups
            .entry(format!("DistributorID={key}"))
            .or_default()
            .push(row.clone());
    }
    groups.values_mut().for_each(|g| g.sort());
    groups
}

/// Checks that each distributor's rows in `target` are all `old` or all `new` (never a mix), and
/// that exactly the partitions the report says were written hold the new rows.
fn assert_whole_distributors(target: &[Row], old: &[Row], new: &[Row], report: &serde_json::Value) {
    let (target, old, new) = (by_distributor(target), by_distributor(old), by_distributor(new));
    let empty = Vec::new();
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let [t, o, n] = [&target, &old, &new].map(|g| g.get(key).unwrap_or(&empty));
        assert!(t == o || t == n, "{key} mixes old and new rows");
        let status = report["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["partition"] == key.as_str())
            .map(|p| p["status"].as_str().unwrap().to_string());
        match status.as_deref() {
            Some("written") => assert!(t == n, "{key} is reported written: {report}"),
            Some("interrupted") => assert!(t == o, "{key} is reported interrupted: {report}"),
            // Rows without a full key are not routed, never written: they stay as they are.
            None => assert!(t == o, "{key} is in no partition: {report}"),
            Some(other) => panic!("{key} is {other}: {report}"),
        }
    }
}

/// SIGTERM while the test server delays the request containing `needle`: exit 143, a JSON report
/// with status "interrupted" listing the partitions, and a target of whole distributors, matching
/// the report. A run after it completes the job. Returns the report.
async fn sigterm_while_delayed(
    db: &TestDb,
    write: &[&str],
    table: &str,
    needle: &str,
    old: &[Row],
    expected: &[Row],
) -> serde_json::Value {
    let server = db.server.as_ref().unwrap();
    server.reset_stats();
    server.inject(Fault {
        when: FaultMatch::Contains(needle.into()),
        action: FaultAction::Delay(Duration::from_secs(4)),
        times: 1,
    });
    let args = [RUN_MSSQL, &["--json", "--concurrency", "3"], write].concat();
    let run = Running::start(db.routeflow().args(&args));
    wait_for_request(server, needle);
    run.signal(libc::SIGTERM);
    let (code, stdout, stderr) = run.finish();
    assert_eq!(code, Some(143), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["status"], "interrupted", "{stdout}");
    assert_eq!(report["signal"], "SIGTERM", "{stdout}");
    assert_eq!(report["phase"], "write", "{stdout}");
    assert!(!report["partitions"].as_array().unwrap().is_empty(), "{stdout}");
    assert_whole_distributors(&db.read(table).await, old, expected, &report);

    server.clear_faults();
    db.ok(&args);
    assert_eq!(db.read(table).await, expected, "the next run completes the job");
    report
}

fn statuses(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_str().unwrap().into(),
                p["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_in_place_write_leaves_whole_distributors_and_reports_them() {
    // While a unit's bulk load (its staging) is delayed: units staged but not applied do not apply.
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let old = db.read(PLAN).await;
    sigterm_while_delayed(&db, &[], PLAN, "INSERT BULK", &old, &expected).await;

    // While the first unit's update is delayed inside its transaction: that unit commits (it is
    // in flight), the next one does not apply.
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let old = db.read(PLAN).await;
    let report = sigterm_while_delayed(&db, &[], PLAN, "UPDATE t SET", &old, &expected).await;
    let statuses = statuses(&report);
    assert_eq!(statuses["DistributorID=D001"], "written", "{report}");
    assert_eq!(statuses["DistributorID=D002"], "interrupted", "{report}");
    assert_eq!(statuses["DistributorID=D003"], "interrupted", "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_table_write_keeps_the_old_table_whole() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let write = ["--write", "table", RESULT_TABLE];
    db.ok(&[RUN_MSSQL, &write].concat());
    // Last night's table, told apart from tonight's.
    db.exec(&format!("UPDATE {RESULT_TABLE} SET custype = 'last night'"))
        .await;
    let old = db.read(RESULT_TABLE).await;
    let report = sigterm_while_delayed(&db, &write, RESULT_TABLE, "INSERT BULK", &old, &expected).await;
    assert!(
        statuses(&report).values().all(|s| s == "interrupted"),
        "nothing reached the target: {report}"
    );
}

/// A second signal exits at once, without waiting for the unit in flight: the server rolls back
/// the transaction whose connection is gone, so every distributor is whole (here: all last
/// night's), nothing stays locked, and the next run completes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_and_the_target_keeps_whole_distributors() {
    let db = TestDb::test_server();
    let expected = db.load_fixtures_and_file_result(true).await;
    let old = db.read(PLAN).await;
    let server = db.server.as_ref().unwrap();
    let delay = Duration::from_secs(8);
    server.inject(Fault {
        when: FaultMatch::Contains("UPDATE t SET".into()),
        action: FaultAction::Delay(delay),
        times: 1,
    });
    let args = [RUN_MSSQL, &["--json"]].concat();
    let mut run = Running::start(db.routeflow().args(&args));
    wait_for_request(server, "UPDATE t SET");
    let delayed_since = Instant::now();
    run.signal(libc::SIGTERM);
    run.wait_for_line("a second signal exits at once");
    run.signal(libc::SIGINT);
    let (code, stdout, stderr) = run.finish();
    let exited_after = delayed_since.elapsed();
    assert_eq!(code, Some(130), "the second signal's code\n{stderr}");
    assert!(stderr.contains("second signal: exiting now"), "{stderr}");
    assert!(stdout.is_empty(), "no report: it did not wait ({stdout})");
    assert!(
        exited_after < delay,
        "exited {exited_after:?} after the unit's update began: it waited for the delayed unit"
    );
    // The server side of the delayed update ends; the transaction, its client gone, rolls back.
    std::thread::sleep(delay.saturating_sub(exited_after) + Duration::from_secs(1));
    let target = by_distributor(&db.read(PLAN).await);
    assert_eq!(
        target,
        by_distributor(&old),
        "every distributor is last night's, whole"
    );
    db.ok(&args);
    assert_eq!(
        db.read(PLAN).await,
        expected,
        "the next run takes the lock and completes the job"
    );
}

/// A run whose lock connection drops before the write (the server then releases the lock, and
/// another run may take it) writes nothing and fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_lost_its_lock_writes_nothing() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.load_fixtures().await;
    let before = db.read(PLAN).await;
    // The check right before the write is the lock connection's APPLOCK_MODE: drop it there.
    db.server.as_ref().unwrap().inject(Fault {
        when: FaultMatch::Contains("APPLOCK_MODE".into()),
        action: FaultAction::Drop,
        times: 1,
    });
    let (code, _, stderr) = db.run(RUN_MSSQL);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("lost its lock"), "{stderr}");
    assert_eq!(db.read(PLAN).await, before, "nothing written");
}
