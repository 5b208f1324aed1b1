//! Audit snapshots: complete and matching their manifest, readable by other tools, never listed when
//! half-written, tamper-evident, replayable, and diffed exactly.

use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::datatypes::DataType;
use datafusion::logical_expr::{ident, lit};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use routeflow::plan::PlanOptions;
use routeflow::run::{RunConfig, run};
use routeflow::snapshot::manifest::Role;
use routeflow::snapshot::{Manifest, SnapshotDir, diff};
use routeflow::source::location::Location;
use routeflow::summary::RunSummary;

use crate::support::{Tables, config, read_output, text_rows};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/small");

struct Snapshotted {
    summary: RunSummary,
    snapshots: PathBuf,
    run_dir: PathBuf,
    manifest: Manifest,
}

fn snapshot_config(input: &Path, out: &Path, plan: PlanOptions) -> RunConfig {
    RunConfig {
        snapshot_dir: Some(out.join("snapshots").display().to_string()),
        ..config(input, out, plan)
    }
}

async fn run_with_snapshot(config: RunConfig) -> Snapshotted {
    let summary = run(&config).await.expect("run succeeds");
    let snapshots = PathBuf::from(config.snapshot_dir.as_ref().unwrap());
    let run_dir = snapshots.join(format!("run_id={}", summary.run_id));
    let manifest = serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    Snapshotted {
        summary,
        snapshots,
        run_dir,
        manifest,
    }
}

fn snapshot_dir(path: &Path) -> SnapshotDir {
    let ctx = SessionContext::new();
    SnapshotDir::new(Location::resolve(&ctx, &path.display().to_string()).unwrap())
}

/// Rows of a Parquet dataset directory (read recursively), by a context of its own.
async fn count_rows(dir: &Path) -> usize {
    let ctx = SessionContext::new();
    let df = ctx
        .read_parquet(format!("{}/", dir.display()), ParquetReadOptions::default())
        .await
        .unwrap();
    df.count().await.unwrap()
}

#[tokio::test]
async fn a_run_writes_a_complete_snapshot_whose_manifest_matches_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let snap = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, PlanOptions::default())).await;
    let m = &snap.manifest;
    assert_eq!(m.run_id, snap.summary.run_id);
    assert_eq!(
        snap.summary.snapshot.as_deref(),
        Some(snap.run_dir.display().to_string().as_str())
    );
    assert_eq!(m.summary["rows"]["written"], snap.summary.rows.written);
    assert_eq!(m.config["input"], FIXTURES);
    assert_eq!(m.routeflow_version, env!("CARGO_PKG_VERSION"));

    let table = |role, name| m.table(role, name).unwrap_or_else(|| panic!("{name} missing"));
    let plan_in = table(Role::Input, "MonthlyRoutePlan_temp");
    let plan_out = table(Role::Output, "MonthlyRoutePlan_temp");
    let routes = table(Role::Output, "route_summary");
    assert_eq!(plan_in.rows, snap.summary.rows.read);
    assert_eq!(plan_out.rows, snap.summary.rows.written);
    assert_eq!(routes.rows, snap.summary.routes.total);
    assert_eq!(plan_out.partition_by.as_deref(), Some("DistributorID"));
    for t in &m.tables {
        let files_rows: u64 = t.files.iter().map(|f| f.rows).sum();
        assert_eq!(files_rows, t.rows, "{}", t.path);
        assert_eq!(
            count_rows(&snap.run_dir.join(&t.path)).await as u64,
            t.rows,
            "{}",
            t.path
        );
        assert_eq!(t.sha256.len(), 64);
    }
    assert_eq!(m.tables.iter().filter(|t| t.role == Role::Input).count(), 5);
    // One partition directory per distributor of the output, and the sink's own files all reported.
    let partitions = std::fs::read_dir(snap.run_dir.join("output/MonthlyRoutePlan_temp"))
        .unwrap()
        .count();
    let distributors: std::collections::BTreeSet<_> = read_output(&out)
        .await
        .into_iter()
        .map(|r| r["DistributorID"].clone())
        .collect();
    assert_eq!(partitions, distributors.len());
    let sink_rows: u64 = m.sink.partitions.iter().map(|p| p.rows).sum();
    assert_eq!(sink_rows, snap.summary.rows.written);
    assert!(m.sink.partitions.iter().all(|p| p.status == "written"));

    let store = snapshot_dir(&snap.snapshots);
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].manifest.is_some(), "listed as complete");
    let verified = store.verify(&m.run_id, 2).await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert_eq!(
        verified.files_checked,
        m.tables.iter().map(|t| t.files.len()).sum::<usize>()
    );
}

#[tokio::test]
async fn replaying_a_snapshot_input_reproduces_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let plan = PlanOptions::default();
    let snap = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, plan.clone())).await;
    let replay_out = dir.path().join("replay");
    run(&config(&snap.run_dir.join("input"), &replay_out, plan))
        .await
        .unwrap();
    let original = read_output(&out).await;
    let replayed = read_output(&replay_out).await;
    assert_eq!(original.len(), replayed.len());
    assert!(
        original == replayed,
        "the snapshot's inputs give the same output, row for row"
    );
}

/// Text of each row of a (possibly partitioned) table, sorted, read by a second DataFusion context.
async fn partition_counts(table_dir: &Path, distributor: &str) -> (usize, usize, usize) {
    let ctx = SessionContext::new();
    let whole = ctx
        .read_parquet(
            format!("{}/", table_dir.display()),
            ParquetReadOptions::default()
                .table_partition_cols(vec![("DistributorID".into(), DataType::Utf8)]),
        )
        .await
        .unwrap();
    let all = whole.clone().count().await.unwrap();
    let filtered = whole
        .filter(ident("DistributorID").eq(lit(distributor)))
        .unwrap()
        .count()
        .await
        .unwrap();
    let one = count_rows(&table_dir.join(format!("DistributorID={distributor}"))).await;
    (all, filtered, one)
}

#[tokio::test]
async fn the_output_snapshot_reads_as_one_table_and_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let snap = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, PlanOptions::default())).await;
    let rows = read_output(&out).await;
    let distributor = rows[0]["DistributorID"].clone().unwrap();
    let expected = rows
        .iter()
        .filter(|r| r["DistributorID"].as_deref() == Some(&distributor))
        .count();
    let table_dir = snap.run_dir.join("output/MonthlyRoutePlan_temp");

    let (all, filtered, one) = partition_counts(&table_dir, &distributor).await;
    assert_eq!(
        (all, filtered, one),
        (rows.len(), expected, expected),
        "DataFusion"
    );

    // pyarrow, when this machine has it, reads the same dataset the same way.
    let script = "import sys, pyarrow.dataset as ds
d = ds.dataset(sys.argv[1], format='parquet', partitioning='hive')
one = ds.dataset(sys.argv[1] + '/DistributorID=' + sys.argv[2], format='parquet')
print(d.count_rows(), d.to_table(filter=ds.field('DistributorID') == sys.argv[2]).num_rows, one.count_rows())";
    match Command::new("python3")
        .args(["-c", script])
        .arg(&table_dir)
        .arg(&distributor)
        .output()
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8(o.stdout).unwrap();
            assert_eq!(
                text.trim(),
                format!("{} {expected} {expected}", rows.len()),
                "pyarrow"
            );
        }
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            eprintln!("pyarrow not installed: the snapshot was checked with DataFusion only");
        }
        Ok(o) => panic!("pyarrow failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => eprintln!("python3 not found: the snapshot was checked with DataFusion only"),
    }
}

#[tokio::test]
async fn an_interrupted_snapshot_is_not_listed_as_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let plan = PlanOptions::default();
    let first = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, plan.clone())).await;
    let second = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, plan)).await;
    // A run killed before its last step leaves everything but the manifest.
    std::fs::remove_file(second.run_dir.join("manifest.json")).unwrap();

    let store = snapshot_dir(&first.snapshots);
    let listed = store.list().await.unwrap();
    let status: Vec<_> = listed
        .iter()
        .map(|r| (r.run_id.as_str(), r.manifest.is_some()))
        .collect();
    assert_eq!(
        status,
        [
            (first.summary.run_id.as_str(), true),
            (second.summary.run_id.as_str(), false)
        ]
    );
    let err = store
        .manifest(&second.summary.run_id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("incomplete"), "{err}");
}

#[tokio::test]
async fn verify_reports_changed_missing_and_unexpected_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let snap = run_with_snapshot(snapshot_config(Path::new(FIXTURES), &out, PlanOptions::default())).await;
    let table = snap.manifest.table(Role::Input, "customer").unwrap();
    let changed = snap.run_dir.join(&table.path).join(&table.files[0].path);
    let mut bytes = std::fs::read(&changed).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&changed, bytes).unwrap();
    let summary = snap.manifest.table(Role::Output, "route_summary").unwrap();
    let missing = snap.run_dir.join(&summary.path).join(&summary.files[0].path);
    std::fs::remove_file(&missing).unwrap();
    std::fs::write(snap.run_dir.join("input/stray.parquet"), b"x").unwrap();

    let report = snapshot_dir(&snap.snapshots)
        .verify(&snap.manifest.run_id, 2)
        .await
        .unwrap();
    let problems = report.problems.join("\n");
    assert_eq!(report.problems.len(), 3, "{problems}");
    assert!(
        problems.contains("changed: ") && problems.contains("input/customer/part-00000.parquet"),
        "{problems}"
    );
    assert!(
        problems.contains("missing: ") && problems.contains("output/route_summary/part-00000.parquet"),
        "{problems}"
    );
    assert!(
        problems.contains("unexpected: ") && problems.contains("input/stray.parquet"),
        "{problems}"
    );
}

/// Two routes on a line north of the depot. Between the runs, C4 leaves route A1, C7 joins route A2
/// and C5 moves beyond C6, so A2's first two StopNos swap.
fn diff_tables(second: bool) -> Tables {
    let a1 = |c: &str| Tables::stop_on("D1", "A1", "2026-12-01", c);
    let a2 = |c: &str| Tables::stop_on("D1", "A2", "2026-12-01", c);
    let mut plan = vec![a1("C1"), a1("C2"), a1("C3"), a2("C5"), a2("C6")];
    let mut customer: Vec<String> = vec![
        "C1,14.01,121.0,B1".into(),
        "C2,14.02,121.0,B1".into(),
        "C3,14.03,121.0,B1".into(),
        "C4,14.04,121.0,B1".into(),
        "C6,14.06,121.1,B2".into(),
        "C7,14.07,121.1,B2".into(),
    ];
    if second {
        plan.push(a2("C7"));
        customer.push("C5,14.08,121.1,B2".into());
    } else {
        plan.push(a1("C4"));
        customer.push("C5,14.05,121.1,B2".into());
    }
    Tables {
        plan,
        customer,
        distributors: vec!["D1,14.0,121.0,Warehouse,Here".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn diff_reports_a_planted_change_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Target 2: both routes are long enough, so no prospect top-up muddies the comparison.
    let plan = PlanOptions {
        target_stops: 2,
        ..PlanOptions::default()
    };
    let mut runs = Vec::new();
    for second in [false, true] {
        let input = dir.path().join(format!("in{}", u8::from(second)));
        diff_tables(second).write(&input);
        runs.push(run_with_snapshot(snapshot_config(&input, &out, plan.clone())).await);
    }
    let store = snapshot_dir(&runs[0].snapshots);
    let (changed, _) = diff::diff(&store, &runs[0].summary.run_id, &runs[1].summary.run_id, 2)
        .await
        .unwrap();
    let rows = text_rows(&changed.collect().await.unwrap());
    let cell = |row: &crate::support::Row, col: &str| row[col].clone().unwrap_or_else(|| "-".into());
    let columns = [
        "DistributorID",
        "AgentID",
        "RouteDate",
        "stops_before",
        "stops_after",
        "added",
        "removed",
        "stop_no_changes",
    ];
    let lines: Vec<String> = rows
        .iter()
        .map(|r| columns.map(|c| cell(r, c)).join(" "))
        .collect();
    let km: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| {
            (
                cell(r, "km_before").parse().unwrap(),
                cell(r, "km_after").parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // route, stops before/after, added, removed, StopNo changes
            "D1 A1 2026-12-01 4 3 - C4 0",
            "D1 A2 2026-12-01 2 3 C7 - 2",
        ]
    );
    // km before/after: A1 lost its last leg (C3 to C4, about 1.1 km); A2 got longer.
    assert!((km[0].0 - km[0].1 - 1.11).abs() < 0.01, "{km:?}");
    assert!(km[1].1 > km[1].0, "{km:?}");
}
