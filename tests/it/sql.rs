//! `routeflow sql`: sources, stage views and snapshots in one catalog, every output format, the shell,
//! and stage views that compute only what a query needs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use datafusion::logical_expr::{ident, lit};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use routeflow::plan::PlanOptions;
use routeflow::run::run;

use crate::support::{FIXTURES, config, fixture_catalog, routeflow, stdout_of};

async fn fixture_rows(table: &str) -> usize {
    let ctx = SessionContext::new();
    ctx.read_parquet(
        format!("{FIXTURES}/{table}.parquet"),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap()
    .count()
    .await
    .unwrap()
}

#[tokio::test]
async fn source_tables_in_csv() {
    let stdout = stdout_of(routeflow().args([
        "-q",
        "sql",
        "--format",
        "csv",
        "SELECT COUNT(*) AS n FROM customer",
    ]));
    assert_eq!(stdout, format!("n\n{}\n", fixture_rows("customer").await));
}

#[tokio::test]
async fn stage_views_in_json_match_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&config(
        Path::new(FIXTURES),
        &dir.path().join("out"),
        PlanOptions::default(),
    ))
    .await
    .unwrap();
    let stdout = stdout_of(routeflow().args([
        "-q",
        "sql",
        "--format",
        "json",
        "SELECT COUNT(*) AS routes, SUM(added) AS added FROM route_summary",
    ]));
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!([{"routes": summary.routes.total, "added": summary.prospects_added.total}])
    );
}

#[tokio::test]
async fn snapshot_tables_in_a_table_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let snapshots = out.join("snapshots");
    let summary = run(&routeflow::run::RunConfig {
        snapshot_dir: Some(snapshots.display().to_string()),
        ..config(Path::new(FIXTURES), &out, PlanOptions::default())
    })
    .await
    .unwrap();
    let base = |cmd: &mut Command| {
        cmd.args(["-q", "sql", "--snapshot", &summary.run_id, "--snapshot-dir"])
            .arg(&snapshots);
    };
    let mut cmd = routeflow();
    base(&mut cmd);
    let stdout = stdout_of(cmd.arg(
        "SELECT COUNT(*) AS written FROM snapshot_output.MonthlyRoutePlan_temp \
         UNION ALL SELECT COUNT(*) FROM snapshot_input.MonthlyRoutePlan_temp ORDER BY 1 DESC",
    ));
    let numbers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.trim_matches(|c| c == '|' || c == ' '))
        .collect();
    assert_eq!(
        numbers,
        [
            "written",
            &summary.rows.written.to_string(),
            &summary.rows.read.to_string()
        ],
        "{stdout}"
    );
    assert!(stdout.ends_with("2 rows\n"), "{stdout}");

    let file = dir.path().join("stops.parquet");
    let mut cmd = routeflow();
    base(&mut cmd);
    cmd.args(["--format", "parquet", "--out"]).arg(&file).arg(
        "SELECT s.* FROM snapshot_output.MonthlyRoutePlan_temp AS s JOIN route_summary AS r \
         ON s.DistributorID = r.DistributorID AND s.AgentID = r.AgentID AND s.RouteDate = r.RouteDate \
         WHERE s.CustNo IS NOT NULL",
    );
    stdout_of(&mut cmd);
    let ctx = SessionContext::new();
    let rows = ctx
        .read_parquet(file.display().to_string(), ParquetReadOptions::default())
        .await
        .unwrap()
        .count()
        .await
        .unwrap();
    assert_eq!(rows as u64, summary.rows.written - summary.rows.not_routed);
}

#[test]
fn the_shell_reads_statements_and_backslash_commands() {
    let mut child = routeflow()
        .args(["-q", "sql"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\\d\n\\d routes\nSELECT COUNT(*)\n  AS nroutes FROM routes;\nSELECT nope;\n\\q\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    for expected in [
        "plan_stops",
        "route_stops",
        "route_summary",
        "customer",
        "centroid_lat",
        "nroutes",
    ] {
        assert!(stdout.contains(expected), "{expected} missing from {stdout}");
    }
    assert!(stderr.contains("error:") && stderr.contains("nope"), "{stderr}");
}

/// The result of `df` as an aligned table.
async fn pretty(df: datafusion::dataframe::DataFrame) -> String {
    let batches = df.collect().await.unwrap();
    arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

/// A query for one agent's day sequences that day only: the filter reaches the plan scan and the
/// sequencing window sees just that route's stops.
#[tokio::test]
async fn a_filtered_stage_query_sequences_only_the_matching_route() {
    let ctx = fixture_catalog().await;
    let first = ctx
        .sql("SELECT DistributorID, AgentID, RouteDate, stops FROM route_summary ORDER BY 1, 2, 3 LIMIT 1")
        .await
        .unwrap();
    let text = pretty(first).await;
    let cells: Vec<&str> = text.lines().nth(3).unwrap().split('|').map(str::trim).collect();
    let (dist, agent, stops) = (cells[1], cells[2], cells[4].parse::<usize>().unwrap());
    let total_stops = ctx.table("route_stops").await.unwrap().count().await.unwrap();

    let date = datafusion::common::ScalarValue::try_from_string(
        cells[3].into(),
        &arrow::datatypes::DataType::Date32,
    )
    .unwrap();
    let query = ctx
        .table("route_stops")
        .await
        .unwrap()
        .filter(
            ident("DistributorID")
                .eq(lit(dist))
                .and(ident("AgentID").eq(lit(agent)))
                .and(ident("RouteDate").eq(lit(date))),
        )
        .unwrap();
    let plan = pretty(query.clone().explain(false, false).unwrap()).await;
    let physical = &plan[plan.find("physical_plan").unwrap()..];
    let sequence = physical.find("SequenceExec").expect("the sequencing operator");
    let filter = physical[sequence..].find("FilterExec").map(|i| i + sequence);
    assert!(
        filter.is_some(),
        "the route filter is applied below the sequencing operator:\n{plan}"
    );

    let analyzed = pretty(query.explain(false, true).unwrap()).await;
    let line = analyzed.lines().find(|l| l.contains("SequenceExec")).unwrap();
    let rows: usize = line
        .split("output_rows=")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        rows, stops,
        "the operator sequenced {rows} stops, the route has {stops}: {line}"
    );
    assert!(
        rows * 10 < total_stops,
        "one route is a small part of the plan ({rows} of {total_stops})"
    );
}

/// The top-up's allocator breaks ties by route and by prospect, so `TopUpExec` requires routes by
/// `route_idx` and prospects by `tdlinx`, each on one partition. Without that requirement the
/// optimizer dropped a sort written into the views, and the order was restored on the allocator's
/// one thread.
#[tokio::test]
async fn the_top_up_gets_its_inputs_sorted_by_the_plan() {
    use datafusion::physical_plan::ExecutionPlanProperties;
    let ctx = fixture_catalog().await;
    let plan = ctx
        .table("topup")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    fn find(
        plan: &std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        name: &str,
    ) -> Option<std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        if plan.name() == name {
            return Some(plan.clone());
        }
        plan.children().into_iter().find_map(|c| find(c, name))
    }
    let topup = find(&plan, "TopUpExec").expect("the top-up operator");
    let children = topup.children();
    for (child, key) in [(children[0], "route_idx"), (children[2], "tdlinx")] {
        assert_eq!(
            child.output_partitioning().partition_count(),
            1,
            "{key} input on one partition"
        );
        let ordering = child.output_ordering().map(|o| o.to_string()).unwrap_or_default();
        assert!(
            ordering.starts_with(&format!("{key}@")),
            "input ordered by {key}, got [{ordering}]"
        );
    }
}
