//! File output at night: publishing in one step, leftovers of dead runs, and the output's lock.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datafusion::prelude::ParquetReadOptions;
use object_store::memory::InMemory;
use routeflow::map::{self, MapSource, Selection};
use routeflow::plan::PlanOptions;
use routeflow::progress::Progress;
use routeflow::run::{self, RunConfig};
use routeflow::schema::ROUTE_PLAN;
use routeflow::shutdown::{Shutdown, Signal};
use routeflow::sink::output::{Output, RunOwner, host_name};
use routeflow::sink::parquet_output::ParquetOutput;
use routeflow::sink::publish::{Versions, published_dir};
use routeflow::source::location::Location;

use crate::support::{FIXTURES, config, routeflow};

/// A library run of the fixtures into `out`, without a snapshot.
fn fixture_config(out: &Path) -> RunConfig {
    config(Path::new(FIXTURES), out, PlanOptions::default())
}

async fn fixture_run(out: &Path) -> String {
    run::run(&fixture_config(out)).await.expect("run succeeds").run_id
}

/// The run ids the reader's names resolve to: (the table's version directory, the summary's run id).
fn published(out: &Path) -> (String, String) {
    let table = std::fs::canonicalize(out.join(ROUTE_PLAN)).unwrap();
    let version = table
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run_summary.json")).unwrap()).unwrap();
    (version, summary["run_id"].as_str().unwrap().to_string())
}

/// Everything a reader sees through the reader's names, by path, with its bytes.
fn seen_by_readers(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("run_summary.json"),
        std::fs::read(out.join("run_summary.json")).unwrap(),
    );
    let mut stack = vec![PathBuf::from(ROUTE_PLAN)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(out.join(&dir)).unwrap() {
            let relative = dir.join(entry.unwrap().file_name());
            if out.join(&relative).is_dir() {
                stack.push(relative);
            } else {
                files.insert(relative.clone(), std::fs::read(out.join(&relative)).unwrap());
            }
        }
    }
    files
}

fn versions(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join(".routeflow/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn lock_file(out: &Path) -> PathBuf {
    out.join(".routeflow/lock")
}

fn now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    routeflow::summary::utc_rfc3339(secs)
}

/// The pid of a process that has ended.
fn gone_pid() -> u32 {
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    gone.id()
}

/// Holds `out`'s lock as the run `run_id` of `host`/`pid`, as a run would.
fn hold_lock(out: &Path, run_id: &str, host: &str, pid: u32) {
    let owner = RunOwner {
        run_id: run_id.into(),
        host: host.into(),
        pid,
        started_at: now(),
    };
    std::fs::create_dir_all(out.join(".routeflow")).unwrap();
    std::fs::write(lock_file(out), serde_json::to_vec(&owner).unwrap()).unwrap();
}

#[tokio::test]
async fn publishing_switches_the_table_and_the_summary_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = fixture_run(&out).await;
    assert_eq!(published(&out), (first.clone(), first.clone()));
    for name in [ROUTE_PLAN, "run_summary.json"] {
        let meta = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(meta.is_symlink(), "{name} is published through a symlink");
    }
    let second = fixture_run(&out).await;
    assert_ne!(first, second);
    assert_eq!(published(&out), (second.clone(), second));
    assert!(!lock_file(&out).exists(), "the lock is released after a success");
}

#[tokio::test]
async fn a_new_run_keeps_the_previous_version_and_removes_older_ones_and_dead_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = fixture_run(&out).await;
    let second = fixture_run(&out).await;
    assert_eq!(versions(&out), [first.clone(), second.clone()]);
    // A run killed mid-write left half a table behind; it is never published.
    let dead = routeflow::snapshot::new_run_id();
    let leftover = out.join(".routeflow/runs").join(&dead).join(ROUTE_PLAN);
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("part-00000.parquet"), b"half a file").unwrap();
    assert_eq!(published(&out).0, second);
    let third = fixture_run(&out).await;
    assert_eq!(
        versions(&out),
        [second, third.clone()],
        "the previous version stays"
    );
    assert_eq!(published(&out), (third.clone(), third));
}

#[tokio::test]
async fn a_run_failing_after_its_write_leaves_the_previous_output_published_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = fixture_run(&out).await;
    let before = seen_by_readers(&out);
    // The snapshot, written after the table, cannot be: the run fails before it publishes.
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    let config = RunConfig {
        snapshot_dir: Some(not_a_dir.display().to_string()),
        ..fixture_config(&out)
    };
    run::run(&config)
        .await
        .expect_err("the snapshot cannot be written");
    assert_eq!(seen_by_readers(&out), before);
    assert_eq!(published(&out).1, first);
    assert!(!lock_file(&out).exists(), "the lock is released after a failure");
}

#[tokio::test]
async fn a_stop_asked_before_the_run_leaves_the_previous_output_and_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fixture_run(&out).await;
    let before = seen_by_readers(&out);
    let shutdown = Shutdown::new();
    shutdown.request(Signal::Terminate);
    let e = run::run_with(&fixture_config(&out), &Progress::new(), &shutdown)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("interrupted"), "{e}");
    assert_eq!(seen_by_readers(&out), before);
    assert!(!lock_file(&out).exists());
}

/// A file output driven through the library, as a run drives it, on the session `ctx`.
async fn write_version(
    ctx: &datafusion::prelude::SessionContext,
    output: &str,
    sql: &str,
    shutdown: &Shutdown,
) -> datafusion::error::Result<String> {
    let run_id = routeflow::snapshot::new_run_id();
    let location = Location::resolve(ctx, output).unwrap();
    let output = ParquetOutput::new(location, &run_id, 2);
    let owner = RunOwner::this_process(&run_id, &now());
    let lock = output.lock(&owner, Duration::ZERO).await.unwrap();
    // One session writes several times: each write registers its output table anew.
    ctx.deregister_table(routeflow::sink::OUTPUT_TABLE).unwrap();
    let result = async {
        let written = output
            .write(ctx, ROUTE_PLAN, ctx.sql(sql).await?, shutdown)
            .await?;
        let summary = serde_json::json!({"run_id": run_id, "rows": written.rows});
        output.publish(summary.to_string().as_bytes()).await
    }
    .await;
    lock.release().await.unwrap();
    result.map(|()| run_id)
}

/// The fixtures' output plan, registered as `night_plan` on a session with `memory://night`.
async fn session_with_a_plan(dir: &Path) -> datafusion::prelude::SessionContext {
    let local = dir.join("local");
    fixture_run(&local).await;
    let ctx = run::session(2);
    let url = url::Url::parse("memory://night").unwrap();
    ctx.register_object_store(&url, Arc::new(InMemory::new()));
    let table = format!("{}/", local.join(ROUTE_PLAN).display());
    ctx.register_parquet("night_plan", &table, ParquetReadOptions::default())
        .await
        .unwrap();
    ctx
}

const ONE_DISTRIBUTOR: &str =
    "SELECT * FROM night_plan WHERE DistributorID = (SELECT MIN(DistributorID) FROM night_plan)";

#[tokio::test]
async fn on_an_object_store_readers_follow_the_pointer_to_the_published_run() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = session_with_a_plan(dir.path()).await;
    let out = "memory://night/out";
    let shutdown = Shutdown::new();
    let first = write_version(&ctx, out, "SELECT * FROM night_plan", &shutdown)
        .await
        .unwrap();
    let second = write_version(&ctx, out, ONE_DISTRIBUTOR, &shutdown)
        .await
        .unwrap();
    let location = Location::resolve(&ctx, out).unwrap();
    let versions = Versions::new(&location);
    let pointer = versions.pointer().await.unwrap().unwrap();
    assert_eq!(
        (pointer.run_id.as_str(), pointer.previous.as_deref()),
        (second.as_str(), Some(first.as_str()))
    );
    assert_eq!(
        published_dir(&location).await.unwrap().prefix,
        versions.run_dir(&second).prefix
    );

    let source = MapSource::Run {
        input: FIXTURES.into(),
        output: out.into(),
    };
    let routes = map::load_in(&ctx, &source, &Selection::default()).await.unwrap();
    let distributors: std::collections::BTreeSet<_> =
        routes.iter().map(|r| r.distributor_id.as_str()).collect();
    assert_eq!(
        distributors.len(),
        1,
        "the map draws the published run only: {distributors:?}"
    );

    // A write that fails, and one stopped: neither is published.
    let failing = "SELECT * FROM night_plan WHERE CAST(CustNo || 'x' AS INT) > 0";
    let e = write_version(&ctx, out, failing, &shutdown)
        .await
        .expect_err("the write fails");
    assert!(e.to_string().contains("Cast error"), "{e}");
    let stopped = Shutdown::new();
    stopped.request(Signal::Interrupt);
    let e = write_version(&ctx, out, "SELECT * FROM night_plan", &stopped)
        .await
        .expect_err("stopped");
    assert!(e.to_string().contains("interrupted by SIGINT"), "{e}");
    assert_eq!(
        versions.pointer().await.unwrap().unwrap(),
        pointer,
        "still the second run"
    );
}

#[test]
fn a_second_run_on_a_locked_output_exits_4_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hold_lock(&out, "held-by-test", &host_name(), std::process::id());
    let held = std::fs::read(lock_file(&out)).unwrap();
    let output = routeflow()
        .args(["-q", "run", "--no-snapshot", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("target busy") && stderr.contains("held-by-test"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
    assert!(
        stderr.contains(".routeflow/lock"),
        "names the file to delete: {stderr}"
    );
    assert_eq!(
        std::fs::read(lock_file(&out)).unwrap(),
        held,
        "the holder's lock untouched"
    );
    assert!(!out.join(".routeflow/runs").exists(), "nothing written");
}

#[test]
fn a_lock_from_another_host_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The pid is not alive here, which says nothing of the other host.
    hold_lock(&out, "elsewhere", "another-host.example", gone_pid());
    let output = routeflow()
        .args(["-q", "run", "--no-snapshot", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("another-host.example"));
}

#[test]
fn a_dead_run_s_lock_on_this_host_is_taken_over_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hold_lock(&out, "killed-last-night", &host_name(), gone_pid());
    let output = routeflow()
        .args(["-q", "run", "--no-snapshot", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("took over") && stderr.contains("killed-last-night"),
        "{stderr}"
    );
    assert!(!lock_file(&out).exists(), "released after the run");
}

/// Starts `routeflow run` into `out` (logging at info) and hands each line of its standard
/// error to `on_line` until it returns true; the rest is drained in the background.
fn start_run(
    out: &Path,
    extra: &[&str],
    mut on_line: impl FnMut(&str, &Child) -> bool,
) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = routeflow()
        .args(["run", "--no-snapshot"])
        .args(extra)
        .arg("--output")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if on_line(&line, &child) {
            break;
        }
    }
    let rest = std::thread::spawn(move || {
        for line in lines {
            seen.push_str(&line.unwrap_or_default());
            seen.push('\n');
        }
        seen
    });
    (child, rest)
}

#[test]
fn wait_lock_waits_for_the_holder_to_release() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    hold_lock(&out, "held-by-test", &host_name(), std::process::id());
    let (mut child, stderr) = start_run(&out, &["--wait-lock", "300"], |line, _| {
        line.contains("waiting for its lock")
    });
    std::thread::sleep(Duration::from_secs(1));
    std::fs::remove_file(lock_file(&out)).unwrap();
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("waiting for its lock"), "it waited: {stderr}");
    let (version, summary) = published(&out);
    assert_eq!(version, summary);
    assert!(!lock_file(&out).exists());
}

#[tokio::test]
async fn sigterm_during_a_run_exits_143_keeps_the_previous_output_and_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = fixture_run(&out).await;
    let before = seen_by_readers(&out);
    let (mut child, stderr) = start_run(&out, &[], |line, child| {
        let opened = line.contains("tables opened");
        if opened {
            // SAFETY: a signal to the child this test started.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        }
        opened
    });
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_eq!(
        seen_by_readers(&out),
        before,
        "the previous output stays published"
    );
    assert_eq!(published(&out).1, first);
    assert!(
        !lock_file(&out).exists(),
        "the lock is released after an interruption"
    );
    // The interrupted run's report is in its own version directory, where no reader looks.
    let reports: Vec<serde_json::Value> = versions(&out)
        .iter()
        .filter(|v| **v != first)
        .map(|v| out.join(".routeflow/runs").join(v).join("run_summary.json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["status"], "interrupted");
    assert_eq!(reports[0]["published"], false);
}

#[tokio::test]
async fn an_output_in_the_old_layout_is_adopted_and_kept_as_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // What routeflow wrote before versions: a real table directory and summary file.
    let old = fixture_run(&dir.path().join("old")).await;
    let version = dir.path().join("old/.routeflow/runs").join(&old);
    std::fs::create_dir_all(out.join(ROUTE_PLAN)).unwrap();
    for f in std::fs::read_dir(version.join(ROUTE_PLAN)).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), out.join(ROUTE_PLAN).join(f.file_name())).unwrap();
    }
    std::fs::copy(version.join("run_summary.json"), out.join("run_summary.json")).unwrap();
    let before = seen_by_readers(&out);

    let new = fixture_run(&out).await;
    assert_eq!(published(&out), (new.clone(), new.clone()));
    assert_eq!(
        versions(&out),
        [old.clone(), new],
        "the old output kept as the previous version"
    );
    let kept = out.join(".routeflow/runs").join(&old);
    assert_eq!(seen_by_readers(&kept), before, "moved, not changed");
}
