//! `routeflow validate`: every data problem reported per table, with examples naming the row; the
//! same counts as the run summary; `--fail-on` thresholds and exit codes; SQL Server input and
//! target widths through the TDS test server.

use std::path::Path;

use routeflow::plan::PlanOptions;
use routeflow::summary::{Filters, RunSummary};
use routeflow::validate::{Problem, Report, ValidateConfig, validate};
use serde_json::Value;

use crate::mssql::TestDb;
use crate::support::{FIXTURES, Tables, config, routeflow};

/// Validates `input` (files) through the library, five examples per problem.
async fn report_of(input: &Path) -> Report {
    validate(&ValidateConfig {
        input: input.display().to_string(),
        filters: Filters::default(),
        concurrency: 2,
        plan: PlanOptions::default(),
        output: None,
        mssql: Default::default(),
        examples: 5,
        fail_on: vec![],
    })
    .await
    .expect("validate succeeds")
}

/// A dry run's summary over `input`.
async fn summary_of(input: &Path) -> RunSummary {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(input, &dir.path().join("out"), PlanOptions::default());
    config.dry_run = true;
    routeflow::run::run(&config).await.expect("run succeeds")
}

fn problem<'a>(report: &'a Report, key: &str) -> &'a Problem {
    report.problem(key).unwrap_or_else(|| panic!("no problem {key}"))
}

fn count(report: &Report, key: &str) -> u64 {
    problem(report, key).count
}

/// The example row's value of `column`.
fn cell<'a>(example: &'a routeflow::validate::Example, column: &str) -> Option<&'a str> {
    example
        .row
        .iter()
        .find(|(k, _)| k == column)
        .unwrap_or_else(|| panic!("no column {column} in {example:?}"))
        .1
        .as_deref()
}

/// Every count the run summary also reports is the same number in the validate report.
fn assert_agrees(report: &Report, summary: &RunSummary) {
    assert_eq!(count(report, "null_keys"), summary.rows.not_routed);
    assert_eq!(
        count(report, "duplicate_stops"),
        summary.duplicates.plan_rows_same_stop
    );
    assert_eq!(
        count(report, "duplicate_custno"),
        summary.duplicates.customer_custno
    );
    assert_eq!(
        count(report, "duplicate_tdlinx"),
        summary.duplicates.prospective_tdlinx
    );
    assert_eq!(
        count(report, "duplicate_distributor_id"),
        summary.duplicates.distributors_id
    );
    assert_eq!(
        count(report, "stops_without_coordinates"),
        summary.stops.without_coordinates
    );
    for (reason, n) in &summary.stops.without_coordinates_by_reason {
        assert_eq!(count(report, &format!("coordinates_{reason}")), *n, "{reason}");
    }
    assert_eq!(
        problem(report, "stops_without_coordinates")
            .breakdown
            .values()
            .sum::<u64>(),
        summary.stops.without_coordinates
    );
    assert_eq!(
        count(report, "routes_depot_fallback"),
        summary.depots.get("fallback").copied().unwrap_or(0)
    );
    assert_eq!(
        count(report, "routes_curve_sequenced"),
        summary.routes.curve_sequenced
    );
    assert_eq!(report.totals.routes, summary.routes.total);
    assert_eq!(report.totals.plan_rows, summary.rows.read);
    assert_eq!(report.totals.stops, summary.stops.planned);
}

#[tokio::test]
async fn fixtures_report_agrees_with_the_run_summary() {
    let report = report_of(Path::new(FIXTURES)).await;
    let summary = summary_of(Path::new(FIXTURES)).await;
    assert_agrees(&report, &summary);
    // The fixtures hold some of everything the summary counts.
    assert_eq!(count(&report, "null_keys"), 5);
    assert_eq!(count(&report, "duplicate_stops"), 2);
    assert_eq!(count(&report, "stops_without_coordinates"), 46);
    assert_eq!(report.plan_month.as_deref(), Some("2026-12"));
}

/// A route of `n` customers with valid coordinates, their rows and customer rows.
fn big_route(tables: &mut Tables, agent: &str, n: usize) {
    for i in 0..n {
        let cust = format!("{agent}-{i:05}");
        tables
            .plan
            .push(Tables::stop_on("D1", agent, "2026-12-03", &cust));
        let (lat, lon) = (14.0 + (i % 50) as f64 * 0.01, 121.0 + (i / 50) as f64 * 0.01);
        tables.customer.push(format!("{cust},{lat},{lon},B9"));
    }
}

/// One plan with each problem kind, at known source positions (0-based, data rows of the CSV).
fn bad_plan() -> Tables {
    let plan_row = |cust: &str, date: &str, agent: &str, dist: &str, custype: &str| {
        format!("{cust},{date},Store {cust},1,T1,{agent},R1,{dist},RC1,SO1,,{custype}")
    };
    let mut tables = Tables {
        plan: vec![
            plan_row("C1", "2026-12-01", "A1", "D1", ""),         // 0 fine
            plan_row("C2", "2026-12-01", "A1", "D1", ""),         // 1 zero
            plan_row("C1", "2026-12-01", "A1", "D1", ""),         // 2 repeats row 0
            plan_row("C3", "2026-12-01", "A1", "D1", "prospect"), // 3 swapped; custype changes
            plan_row("C4", "2026-12-01", "", "D1", ""),           // 4 NULL AgentID
            plan_row("C5", "2026-12-01", "A1", "D9", ""),         // 5 not found; D9 unknown
            plan_row("C6", "2026-11-30", "A2", "D1", ""),         // 6 November; NULL latitude
            plan_row("C7", "2026-12-02", "A1", "D2", ""),         // 7 outside; D2 at 0,0
            plan_row("P1", "2026-12-01", "A1", "D1", "prospect"), // 8 a prospect, fine
            plan_row("C8", "2026-12-01", "A1", "D1", "customer"), // 9 NaN latitude
        ],
        customer: vec![
            "C1,14.6,121.0,B1".into(),
            "C2,14.5,0,B1".into(),
            "C3,121.0,14.6,B1".into(), // 2: the C3 that is used
            "C6,,121.0,B1".into(),
            "C7,30.0,121.0,B1".into(),
            "C8,NaN,121.0,B1".into(),
            "C3,14.6,121.0,B1".into(), // 6: a second C3, ignored
        ],
        prospective: vec![
            "P1,14.61,121.01,B1,Prospect One".into(),
            "P2,,,  ,Prospect Two".into(), // 1: no coordinates, blank barangay
            "P3,14.62,121.02,B1,Prospect Three".into(),
            "P3,14.63,121.03,B1,Prospect Three again".into(),
            "C1,14.6,121.0,B1,Customer One".into(), // 4: also a customer
        ],
        custvisit: vec!["P1,A1,2026-11-02".into(), "V1,A1,2026-11-03".into()],
        distributors: vec![
            "D1,14.6,121.0,Dist One,Addr".into(),
            "D2,0,0,Dist Two,Addr".into(),
            "D1,15.0,121.0,Dist One again,Addr".into(),
        ],
        plan_header: None,
    };
    // 150 stops: over 100; 2,001 with coordinates: over 1,000 and along the curve.
    big_route(&mut tables, "A3", 150);
    big_route(&mut tables, "A4", 2_001);
    tables
}

#[tokio::test]
async fn a_bad_plan_reports_each_problem_with_its_count_and_row() {
    let dir = tempfile::tempdir().unwrap();
    bad_plan().write(dir.path());
    let report = report_of(dir.path()).await;
    let expected = [
        ("null_keys", 1),
        ("duplicate_stops", 1),
        ("routes_over_100_stops", 2),
        ("routes_over_1000_stops", 1),
        ("routes_curve_sequenced", 1),
        ("dates_outside_month", 1),
        ("custype_changed", 1),
        ("stops_without_coordinates", 6),
        ("coordinates_not_found", 1),
        ("coordinates_null", 1),
        ("coordinates_non_finite", 1),
        ("coordinates_zero", 1),
        ("coordinates_swapped", 1),
        ("coordinates_outside", 1),
        ("routes_depot_fallback", 2),
        ("distributors_without_location", 2),
        ("duplicate_custno", 1),
        ("duplicate_tdlinx", 1),
        ("duplicate_distributor_id", 1),
        ("prospects_without_coordinates", 1),
        ("prospects_without_barangay", 1),
        ("prospects_also_customers", 1),
        ("custvisit_unknown_stores", 1),
    ];
    for (key, n) in expected {
        assert_eq!(count(&report, key), n, "{key}");
    }
    // Every check of the files is in the report: none is left untested here.
    let checked: usize = report.tables.iter().map(|t| t.problems.len()).sum();
    assert_eq!(checked, expected.len());

    // Each example names the row: its key columns and its source position.
    let first = |key: &str| problem(&report, key).examples[0].clone();
    let e = first("null_keys");
    assert_eq!((cell(&e, "CustNo"), cell(&e, "AgentID")), (Some("C4"), None));
    assert_eq!(e.source_position, Some(4));
    assert_eq!(problem(&report, "null_keys").breakdown["AgentID"], 1);
    let e = first("duplicate_stops");
    assert_eq!((cell(&e, "CustNo"), e.source_position), (Some("C1"), Some(0)));
    let e = first("dates_outside_month");
    assert_eq!((cell(&e, "CustNo"), e.source_position), (Some("C6"), Some(6)));
    assert_eq!(problem(&report, "dates_outside_month").breakdown["2026-11"], 1);
    let e = first("custype_changed");
    assert_eq!((cell(&e, "CustNo"), e.source_position), (Some("C3"), Some(3)));
    assert_eq!(
        problem(&report, "custype_changed").breakdown["prospect -> customer"],
        1
    );
    for (reason, cust, position) in [
        ("not_found", "C5", 5),
        ("null", "C6", 6),
        ("non_finite", "C8", 9),
        ("zero", "C2", 1),
        ("swapped", "C3", 3),
        ("outside", "C7", 7),
    ] {
        let e = first(&format!("coordinates_{reason}"));
        assert_eq!(
            (cell(&e, "CustNo"), e.source_position),
            (Some(cust), Some(position)),
            "{reason}"
        );
    }
    let e = first("coordinates_swapped");
    assert!(e.detail.as_deref().unwrap().contains("latitude 121"), "{e:?}");
    let e = first("routes_curve_sequenced");
    assert_eq!(cell(&e, "AgentID"), Some("A4"));
    assert!(e.detail.as_deref().unwrap().starts_with("2001 stops"), "{e:?}");
    let examples = &problem(&report, "distributors_without_location").examples;
    assert_eq!(cell(&examples[0], "DistributorID"), Some("D2"));
    assert_eq!(examples[0].source_position, Some(1));
    assert_eq!(cell(&examples[1], "DistributorID"), Some("D9"));
    assert_eq!(examples[1].source_position, None);
    // The first row of a repeated key is named: it is the one used.
    let e = first("duplicate_custno");
    assert_eq!((cell(&e, "CustNo"), e.source_position), (Some("C3"), Some(2)));
    let e = first("duplicate_distributor_id");
    assert_eq!(
        (cell(&e, "DistributorID"), e.source_position),
        (Some("D1"), Some(0))
    );
    let e = first("prospects_without_barangay");
    assert_eq!((cell(&e, "tdlinx"), e.source_position), (Some("P2"), Some(1)));
    let e = first("prospects_also_customers");
    assert_eq!((cell(&e, "tdlinx"), e.source_position), (Some("C1"), Some(4)));
    let e = first("custvisit_unknown_stores");
    assert_eq!((cell(&e, "CustID"), e.source_position), (Some("V1"), Some(1)));
}

#[tokio::test]
async fn a_bad_plan_report_agrees_with_the_run_summary() {
    let dir = tempfile::tempdir().unwrap();
    bad_plan().write(dir.path());
    let report = report_of(dir.path()).await;
    let summary = summary_of(dir.path()).await;
    assert_agrees(&report, &summary);
    assert_eq!(summary.routes.curve_sequenced, 1);
    let listed = &summary.routes.curve_sequenced_routes;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].agent_id.as_str(), listed[0].stops), ("A4", 2_001));
    assert!(summary.to_text().contains("routes sequenced along the curve"));
}

/// Runs the binary; returns exit code, stdout, stderr.
fn validate_cli(args: &[&str]) -> (i32, String, String) {
    let out = routeflow().arg("validate").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fixtures_table_report_has_a_section_per_table_and_names_rows() {
    let (code, out, err) = validate_cli(&[]);
    assert_eq!(code, 0, "{err}");
    for section in [
        "\nMonthlyRoutePlan_temp\n",
        "\ncustomer\n",
        "\nprospective\n",
        "\ncustvisit\n",
        "\ndistributors\n",
    ] {
        assert!(out.contains(section), "{section:?} missing:\n{out}");
    }
    assert!(out.contains("  null_keys: 5 (0.21%)\n"), "{out}");
    assert!(
        out.contains("CustNo C0000406 at position 296: NULL DistributorID"),
        "{out}"
    );
    assert!(out.contains("  coordinates_non_finite: 0\n"), "{out}");
    assert!(out.contains("result: ok"), "{out}");
}

#[test]
fn fixtures_json_report_has_the_documented_fields() {
    let (code, out, err) = validate_cli(&["--format", "json", "--examples", "2"]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    for field in [
        "routeflow_version",
        "input",
        "filters",
        "target",
        "plan_month",
        "totals",
        "tables",
        "thresholds",
        "status",
        "seconds",
    ] {
        assert!(json.get(field).is_some(), "{field} missing");
    }
    assert_eq!(json["status"], "ok");
    assert_eq!(json["totals"]["plan_rows"], 2372);
    let plan = &json["tables"][0];
    assert_eq!(plan["table"], "MonthlyRoutePlan_temp");
    let null_keys = &plan["problems"][0];
    assert_eq!(null_keys["key"], "null_keys");
    assert_eq!(null_keys["count"], 5);
    assert_eq!(null_keys["pct"], 0.21);
    assert_eq!(null_keys["breakdown"]["RouteDate"], 2);
    let examples = null_keys["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0]["row"]["CustNo"], "C0000406");
    assert_eq!(examples[0]["row"]["DistributorID"], Value::Null);
    assert_eq!(examples[0]["source_position"], 296);
    assert_eq!(examples[0]["detail"], "NULL DistributorID");
    // The row's key columns keep the table's order in the text printed.
    let row = &out[out.find("\"row\": {").unwrap()..];
    let at = |k: &str| row.find(&format!("\"{k}\":")).unwrap();
    assert!(
        at("DistributorID") < at("AgentID") && at("AgentID") < at("RouteDate"),
        "{row}"
    );
    assert!(at("RouteDate") < at("CustNo"), "{row}");
}

#[test]
fn a_threshold_exceeded_exits_1_and_is_named() {
    let (code, out, err) = validate_cli(&[
        "--fail-on",
        "null_keys=4",
        "--fail-on",
        "stops_without_coordinates_pct=5",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("  null_keys > 4: 5  EXCEEDED"), "{out}");
    assert!(
        out.contains("  stops_without_coordinates_pct > 5: 1.95  ok"),
        "{out}"
    );
    assert!(
        out.contains("result: failed, thresholds exceeded: null_keys"),
        "{out}"
    );
    assert!(err.contains("thresholds exceeded: null_keys = 5 > 4"), "{err}");
}

#[test]
fn thresholds_at_or_above_the_value_exit_0() {
    let (code, out, err) = validate_cli(&[
        "--format",
        "json",
        "--fail-on",
        "null_keys=5",
        "--fail-on",
        "stops_without_coordinates_pct=1.95",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["thresholds"][0]["value"], 5.0);
    assert_eq!(json["thresholds"][0]["exceeded"], false);
    assert_eq!(json["thresholds"][1]["key"], "stops_without_coordinates_pct");
}

#[test]
fn an_unknown_threshold_key_is_a_usage_error_listing_the_keys() {
    let (code, out, err) = validate_cli(&["--fail-on", "nul_keys=0"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("unknown key \"nul_keys\""), "{err}");
    assert!(err.contains("null_keys, null_keys_pct, duplicate_stops"), "{err}");
    let (code, _, err) = validate_cli(&["--fail-on", "null_keys"]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn validate_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    bad_plan().write(&input);
    let before: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let out = dir.path().join("out");
    let (code, _, err) = validate_cli(&[
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.exists(), "validate created {}", out.display());
    let after: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before.len(), after.len());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Counts of every problem, by key.
fn counts(json: &Value) -> Vec<(String, u64)> {
    json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["problems"].as_array().unwrap())
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sql_server_input_gives_the_same_counts_as_the_files() {
    let db = TestDb::test_server();
    db.create_schema(true).await;
    db.load_fixtures().await;
    let from_server: Value =
        serde_json::from_str(&db.ok(&["validate", "--input", "mssql", "--format", "json"])).unwrap();
    let (code, files, err) = validate_cli(&["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let files: Value = serde_json::from_str(&files).unwrap();
    assert_eq!(counts(&from_server), counts(&files));
    assert_eq!(from_server["target"], Value::Null);
    // Positions are the server's read order (see the README); every example has one.
    let example = &from_server["tables"][0]["problems"][0]["examples"][0];
    assert!(example["source_position"].is_i64(), "{example}");
}

#[tokio::test]
async fn values_wider_than_the_sql_server_target_are_reported() {
    let db = TestDb::test_server();
    db.create_schema(false).await; // Name nvarchar(15), as in production
    let dir = tempfile::tempdir().unwrap();
    let long = "Sari-Sari Store of Juan";
    let row = |agent: &str, cust: &str| format!("{cust},2026-12-01,{long},1,T1,{agent},R1,D1,RC1,SO1,,");
    let tables = Tables {
        plan: vec![Tables::stop("C1"), row("A1", "C2"), row("", "C3")],
        customer: vec!["C1,14.6,121.0,B1".into(), "C2,14.61,121.0,B1".into()],
        prospective: vec![
            "P1,14.6,121.01,B1,A prospect with a long name".into(),
            "P2,14.6,121.02,B1,Short".into(),
        ],
        custvisit: vec!["C1,A1,2026-11-02".into()],
        distributors: vec!["D1,14.6,121.0,Dist,Addr".into()],
        ..Default::default()
    };
    tables.write(dir.path());
    let input = dir.path().display().to_string();
    let check = |write: &[&str]| -> Value {
        let mut args = vec![
            "validate", "--input", &input, "--output", "mssql", "--format", "json",
        ];
        args.extend_from_slice(write);
        serde_json::from_str(&db.ok(&args)).unwrap()
    };
    // In place, the row without an AgentID is not written: only C2's Name is too wide.
    let in_place = check(&[]);
    assert_eq!(in_place["target"], "SQL Server MonthlyRoutePlan_temp");
    let target = in_place["tables"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(target["table"], "SQL Server MonthlyRoutePlan_temp");
    let wide = &target["problems"][0];
    assert_eq!(wide["key"], "values_too_wide");
    assert_eq!(wide["count"], 1);
    assert_eq!(wide["breakdown"]["Name"], 1);
    assert_eq!(wide["examples"][0]["row"]["CustNo"], "C2");
    assert_eq!(wide["examples"][0]["source_position"], 1);
    assert_eq!(
        wide["examples"][0]["detail"],
        format!("Name: {long:?} is 23 characters, the column 15")
    );
    let names = &target["problems"][1];
    assert_eq!(names["key"], "prospect_names_too_wide");
    assert_eq!(names["count"], 1);
    assert_eq!(names["examples"][0]["row"]["tdlinx"], "P1");
    // A whole-table write writes every row: C3 too.
    let table = check(&["--write", "table", "RoutePlanResult"]);
    let target = table["tables"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(target["table"], "SQL Server RoutePlanResult");
    assert_eq!(target["problems"][0]["count"], 2);
    // A threshold on widths fails the check; nothing was written to the server.
    let (code, _, err) = db.run(&[
        "validate",
        "--input",
        &input,
        "--output",
        "mssql",
        "--fail-on",
        "values_too_wide=0",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(db.read("MonthlyRoutePlan_temp").await.is_empty());
    // Without a SQL Server target there are no widths to check: a width threshold is bad usage.
    let (code, _, err) = validate_cli(&["--input", &input, "--fail-on", "values_too_wide=0"]);
    assert_eq!(code, 3, "{err}");
}
