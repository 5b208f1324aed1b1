//! The command line as an operator uses it.

use std::path::Path;

use crate::support::{routeflow, stdout_of};

#[test]
fn run_on_the_fixtures_writes_the_table_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stdout = stdout_of(routeflow().args(["-q", "run", "--output"]).arg(&out));
    let text = stdout;
    assert!(text.contains("routes per second"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run_summary.json")).unwrap()).unwrap();
    assert!(summary["routes"]["total"].as_u64().unwrap() > 0);
    assert!(summary["distance_km"]["nearest_neighbor"].as_f64().unwrap() > 0.0);
    for key in [
        "rows",
        "prospects_added",
        "stops",
        "custype_rows",
        "duplicates",
        "truncations",
        "phases",
        "routes_per_second",
    ] {
        assert!(summary.get(key).is_some(), "{key} missing");
    }
    let files: Vec<_> = std::fs::read_dir(out.join("MonthlyRoutePlan_temp"))
        .unwrap()
        .collect();
    assert!(!files.is_empty());
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stdout = stdout_of(
        routeflow()
            .args(["-q", "run", "--dry-run", "--json", "--output"])
            .arg(&out),
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["dry_run"], true);
    assert!(!Path::new(&out).exists());
}

#[test]
fn bad_input_exits_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let status = routeflow()
        .args(["run", "--input"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(err.contains("table MonthlyRoutePlan_temp not found"), "{err}");

    let status = routeflow()
        .args(["run", "--dry-run", "--start-lat", "0", "--start-lon", "121"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
}

/// Exit codes say what happened, whichever library raised the error: 0 done, 1 an unexpected failure
/// (here the output folder is a file), 3 input or configuration the user can fix (here an analyst's
/// query that does not plan: DataFusion's planning error, which no longer decides by itself). Exit 2
/// (some partitions failed) needs a failing database: `mssql::faults` tests it through the TDS test
/// server; a broken shipped `plans/*.sql` (exit 1) is `plan::tests::a_broken_shipped_plan_is_a_bug`.
#[test]
fn exit_codes_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let code = |args: &[&str]| {
        let out = routeflow().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code(&["-q", "run", "--dry-run"]).0, Some(0));

    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let (status, stderr) = code(&["-q", "run", "--no-snapshot", "--output", file.to_str().unwrap()]);
    assert_eq!(status, Some(1), "{stderr}");

    let (status, stderr) = code(&["-q", "sql", "SELECT no_such_column FROM route_plan"]);
    assert_eq!(status, Some(3), "{stderr}");
    assert!(
        stderr.contains("the query does not plan") && stderr.contains("no_such_column"),
        "{stderr}"
    );
    assert!(!stderr.contains("External error"), "{stderr}");
}

#[test]
fn explain_shows_the_operators() {
    let stdout = stdout_of(routeflow().args(["-q", "explain"]));
    let text = stdout;
    for op in [
        "FileScanExec",
        "TopUpExec",
        "SequenceExec",
        "logical_plan",
        "physical_plan",
    ] {
        assert!(text.contains(op), "{op} missing from explain output");
    }
}

/// Runs `routeflow generate --scale small --seed SEED` into a fresh directory.
fn generate_small(seed: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(
        routeflow()
            .args(["-q", "generate", "--scale", "small", "--seed", seed, "--output"])
            .arg(dir.path()),
    );
    dir
}

#[test]
fn generate_writes_the_five_tables() {
    let dir = generate_small("3");
    for t in routeflow::schema::INPUT_TABLES {
        assert!(dir.path().join(format!("{t}.parquet")).exists(), "{t}");
    }
}

#[test]
fn the_committed_fixtures_are_what_generate_produces() {
    let dir = generate_small("42");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/small");
    for t in routeflow::schema::INPUT_TABLES {
        let name = format!("{t}.parquet");
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        let committed = std::fs::read(fixtures.join(&name)).unwrap();
        assert!(
            fresh == committed,
            "{name} differs from `routeflow generate --scale small --seed 42`"
        );
    }
}

/// The snapshot commands as an auditor uses them: list, show, verify (failing after tampering) and a
/// clear refusal of an incomplete run.
#[test]
fn snapshot_commands_list_show_verify_and_refuse_incomplete_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let snapshots = out.join("snapshots");
    let summary = stdout_of(routeflow().args(["-q", "run", "--json", "--output"]).arg(&out));
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let snapshots_cmd = |args: &[&str]| {
        let mut cmd = routeflow();
        cmd.args(["-q", "snapshots"])
            .args(args)
            .arg("--snapshot-dir")
            .arg(&snapshots);
        cmd
    };

    let listed = stdout_of(&mut snapshots_cmd(&["list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&run_id) && l.contains("complete")),
        "{listed}"
    );
    let shown = stdout_of(&mut snapshots_cmd(&["show", &run_id]));
    assert!(
        shown.contains("output/MonthlyRoutePlan_temp") && shown.contains("sha256"),
        "{shown}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&stdout_of(&mut snapshots_cmd(&["show", &run_id, "--json"]))).unwrap();
    assert_eq!(manifest["summary"]["rows"]["written"], summary["rows"]["written"]);
    let verified = stdout_of(&mut snapshots_cmd(&["verify", &run_id]));
    assert!(verified.contains("all match"), "{verified}");

    let file = snapshots.join(format!("run_id={run_id}/input/customer/part-00000.parquet"));
    std::fs::write(&file, b"tampered").unwrap();
    let failed = snapshots_cmd(&["verify", &run_id]).output().unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stdout).contains("changed: "));

    std::fs::remove_file(snapshots.join(format!("run_id={run_id}/manifest.json"))).unwrap();
    let listed = stdout_of(&mut snapshots_cmd(&["list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&run_id) && l.contains("incomplete")),
        "{listed}"
    );
    let refused = snapshots_cmd(&["show", &run_id]).output().unwrap();
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("incomplete"));
    let bad_id = snapshots_cmd(&["show", "../../etc"]).output().unwrap();
    assert_eq!(bad_id.status.code(), Some(3));
}

#[test]
fn no_snapshot_and_dry_run_leave_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // --no-snapshot wins over a snapshot directory set in the environment.
    let elsewhere = dir.path().join("snapshots");
    stdout_of(
        routeflow()
            .env("ROUTEFLOW_SNAPSHOT_DIR", &elsewhere)
            .args(["-q", "run", "--no-snapshot", "--output"])
            .arg(&out),
    );
    assert!(out.join("MonthlyRoutePlan_temp").exists());
    assert!(!out.join("snapshots").exists() && !elsewhere.exists());
}

/// A run printing its summary as JSON and progress every 10 ms; the output directory follows.
const FAST_PROGRESS_RUN: [&str; 6] = [
    "run",
    "--no-snapshot",
    "--json",
    "--progress-interval",
    "0.01",
    "--output",
];

/// Not on a terminal, progress is plain lines of one fixed shape at a steady interval, ending with
/// every route done, and nothing on standard error carries a control character.
#[test]
fn progress_for_a_scheduler_log_is_plain_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = routeflow().args(FAST_PROGRESS_RUN).arg(&out).output().unwrap();
    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let routes = summary["routes"]["total"].as_u64().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in {stderr:?}"
    );
    let progress: Vec<&str> = stderr.lines().filter(|l| l.starts_with("progress: ")).collect();
    assert!(progress.len() >= 2, "{stderr}");
    let counted: Vec<(u64, u64)> = progress
        .iter()
        .filter_map(|l| routeflow::progress::parse_plain_line(l))
        .collect();
    assert!(!counted.is_empty(), "lines with a route total: {progress:?}");
    assert_eq!(counted.last(), Some(&(routes, routes)), "{progress:?}");
    assert!(
        progress.last().unwrap().ends_with("| phase write"),
        "{progress:?}"
    );
}

/// JSON logs: one object per line, each event of the run carrying its id, stages with their phase,
/// and progress as events too; --log-file appends them to a file instead of standard error.
#[test]
fn json_logs_carry_the_run_id_and_phase() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("routeflow.log");
    let stdout = stdout_of(
        routeflow()
            .args(["--log-format", "json", "--log-file"])
            .arg(&log)
            .args(FAST_PROGRESS_RUN)
            .arg(&out),
    );
    let run_id = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["run_id"].clone();
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let stages: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["fields"]["message"] == "stage done")
        .collect();
    assert!(stages.len() >= 6, "{events:?}");
    for e in &stages {
        assert_eq!(e["span"]["run_id"], run_id);
        assert!(e["fields"]["phase"].is_string() && e["level"] == "INFO");
    }
    assert!(
        events.iter().any(|e| e["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("progress: "))),
        "progress lines are JSON events too"
    );
}

/// Configuration comes from the file, then ROUTEFLOW_* variables, then flags, each winning over the
/// one before; `config show` names the origin of every value and hides secrets.
#[test]
fn configuration_precedence_origins_and_redaction() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routeflow.toml");
    std::fs::write(
        &file,
        "input = \"/from/file\"\nconcurrency = 3\ntarget-stops = 40\n\n[run]\noutput = \"/file/out\"\n\
         distributor-id = [\"D001\", \"D002\"]\nsnapshot-dir = \"s3://AKIA:hunter2@bucket/snaps\"\n\n\
         [sql]\nformat = \"csv\"\n",
    )
    .unwrap();
    let shown = stdout_of(
        routeflow()
            .env("ROUTEFLOW_CONFIG", &file)
            .env("ROUTEFLOW_OUTPUT", "/env/out")
            .env("ROUTEFLOW_CONCURRENCY", "5")
            .args(["config", "show", "run", "--concurrency", "7"]),
    );
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from {shown}"))
            .to_string()
    };
    let file_origin = format!("(file ({}))", file.display());
    assert_eq!(line("input"), format!("input = /from/file {file_origin}"));
    assert_eq!(line("target-stops"), format!("target-stops = 40 {file_origin}"));
    assert_eq!(line("output"), "output = /env/out (env (ROUTEFLOW_OUTPUT))");
    assert_eq!(line("concurrency"), "concurrency = 7 (flag)");
    assert_eq!(line("max-distance-km"), "max-distance-km = 5 (default)");
    assert!(line("distributor-id").contains("D001") && line("distributor-id").contains("D002"));
    assert_eq!(
        line("snapshot-dir"),
        format!("snapshot-dir = s3://AKIA:***@bucket/snaps {file_origin}")
    );
    assert!(!shown.contains("hunter2"));

    // A table applies to its own subcommand only.
    let sql = stdout_of(
        routeflow()
            .arg("--config")
            .arg(&file)
            .args(["config", "show", "sql"]),
    );
    assert!(
        sql.lines().any(|l| l == format!("format = csv {file_origin}")),
        "{sql}"
    );

    // The values really reach the command: the file's input is used (and is missing here).
    let run = routeflow()
        .arg("--config")
        .arg(&file)
        .args(["-q", "run", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&run.stderr).contains("/from/file"));
}

/// The line of `config show` output for option `name`.
fn shown_line<'a>(shown: &'a str, name: &str) -> &'a str {
    shown
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from {shown}"))
}

/// clap alone reads the command line, and the file fills only what it leaves open: a short-flag
/// cluster gives each flag, a value may start with `-`, what follows `--` is no option, and an
/// option `copy` requires may be in the file alone.
#[test]
fn the_file_fills_only_what_the_command_line_leaves_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routeflow.toml");
    std::fs::write(
        &file,
        "verbose = 2\n[run]\nstart-lat = 14.6\nstart-lon = 121.0\n\n\
         [copy]\nfrom = \"fixtures/small\"\nto = \"/file/to\"\n",
    )
    .unwrap();
    let file_origin = format!("(file ({}))", file.display());
    let show = |args: &[&str]| {
        stdout_of(
            routeflow()
                .arg("--config")
                .arg(&file)
                .args(["config", "show"])
                .args(args),
        )
    };

    let run = show(&["run", "-qv", "--start-lat", "-12.5"]);
    assert_eq!(shown_line(&run, "verbose"), "verbose = 1 (flag)");
    assert_eq!(shown_line(&run, "quiet"), "quiet = true (flag)");
    assert_eq!(shown_line(&run, "start-lat"), "start-lat = -12.5 (flag)");
    assert_eq!(
        shown_line(&run, "start-lon"),
        format!("start-lon = 121 {file_origin}")
    );

    let sql = show(&["sql", "--", "-q"]);
    assert_eq!(shown_line(&sql, "query"), "query = -q (flag)");
    assert_eq!(shown_line(&sql, "quiet"), "quiet = false (default)");
    assert_eq!(shown_line(&sql, "verbose"), format!("verbose = 2 {file_origin}"));

    let copy = show(&["copy", "--to", "/flag/to"]);
    assert_eq!(
        shown_line(&copy, "from"),
        format!("from = fixtures/small {file_origin}")
    );
    assert_eq!(shown_line(&copy, "to"), "to = /flag/to (flag)");
}

#[test]
fn configuration_mistakes_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[run]\ntarget-stop = 40\n").unwrap();
    let wrong_type = dir.path().join("type.toml");
    std::fs::write(&wrong_type, "target-stops = \"many\"\n").unwrap();
    for (file, needle) in [(typo, "target-stop"), (wrong_type, "target-stops")] {
        let output = routeflow()
            .arg("--config")
            .arg(&file)
            .args(["run", "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", file.display());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(needle) && stderr.contains(&*file.display().to_string()),
            "{stderr}"
        );
    }
    let missing = routeflow()
        .args(["--config", "/nonexistent/routeflow.toml", "run"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    let usage = routeflow().args(["run", "--no-such-option"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(3));
}

#[test]
fn completions_and_man_page_are_generated() {
    let bash = stdout_of(routeflow().args(["completions", "bash"]));
    assert!(bash.contains("routeflow") && bash.contains("--target-stops") && bash.contains("snapshots"));
    let man = stdout_of(routeflow().arg("man"));
    assert!(
        man.starts_with(".ie") || man.contains(".TH routeflow"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(
        man.contains("ROUTEFLOW"),
        "the environment variables are documented"
    );
}
