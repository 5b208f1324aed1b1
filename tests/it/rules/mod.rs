//! One or more tests per rule of the domain contract (`shared/docs/route-plan.md`), on small
//! hand-built tables. Each would fail if its rule were broken: the tests added for issue 20 were each
//! seen failing against a deliberately broken rule (the commits that add them say how).
//!
//! Rules 1-3, 5 and 8 are here; the top-up (rule 4) in [`topup`], depot and sequence (rules 6, 7) in
//! [`sequence`].

mod sequence;
mod topup;

use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;

use crate::support::{Output, Tables, get, run_tables};

/// Distributor D1's warehouse, a little south of the stores used below.
fn depot() -> String {
    "D1,14.590,121.000,Warehouse,Somewhere".to_string()
}

fn nn() -> PlanOptions {
    PlanOptions {
        sequence: SequenceMode::NearestNeighbor,
        ..PlanOptions::default()
    }
}

/// Runs `tables` with nearest-neighbour sequencing (its order is the contract's, exactly) and the
/// top-up target `target_stops`.
async fn run_nn(tables: &Tables, target_stops: u32) -> Output {
    let plan = PlanOptions { target_stops, ..nn() };
    run_tables(tables, plan).await
}

#[tokio::test]
async fn rule1_rows_with_null_keys_are_written_back_unchanged_and_counted() {
    let tables = Tables {
        plan: vec![
            Tables::stop("C1"),
            "C2,2026-12-01,No agent,1,T1,,R1,D1,RC1,SO1,7,keep".into(),
            "C3,2026-12-01,No dist,1,T1,A1,R1,,RC1,SO1,8,".into(),
            "C4,,No date,1,T1,A1,R1,D1,RC1,SO1,,x".into(),
            ",2026-12-01,No cust,1,T1,A1,R1,D1,RC1,SO1,9,y".into(),
        ],
        customer: vec![
            "C1,14.60,121.0,B1".into(),
            "C2,14.61,121.0,B1".into(),
            "C3,14.62,121.0,B1".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    assert_eq!(out.summary.rows.not_routed, 4);
    assert_eq!(out.rows.len(), 5);
    let c2 = &out.cust("C2")[0];
    assert_eq!(get(c2, "StopNo"), Some("7"));
    assert_eq!(get(c2, "custype"), Some("keep"));
    assert_eq!(get(c2, "AgentID"), None);
    assert_eq!(out.stop_no("C3"), Some(8));
    assert_eq!(out.custype("C3"), None, "not routed: custype left as it was");
    assert_eq!(out.custype("C4").as_deref(), Some("x"));
    let no_cust: Vec<_> = out.rows.iter().filter(|r| get(r, "CustNo").is_none()).collect();
    assert_eq!(no_cust.len(), 1);
    assert_eq!(get(no_cust[0], "StopNo"), Some("9"));
    assert_eq!(out.stop_no("C1"), Some(1));
    assert_eq!(out.summary.routes.total, 1);
}

#[tokio::test]
async fn rule2_stops_without_coordinates_are_counted_by_reason() {
    let tables = Tables {
        plan: ["C1", "CNULL", "CZERO", "COUT", "CSWAP", "UNKNOWN", "P1"]
            .iter()
            .map(|c| Tables::stop(c))
            .collect(),
        customer: vec![
            "C1,14.60,121.0,B1".into(),
            "CNULL,,121.0,B1".into(),
            "CZERO,0,121.0,B1".into(),
            "COUT,35.0,139.0,B1".into(),
            "CSWAP,121.0,14.6,B1".into(),
        ],
        prospective: vec!["P1,14.61,121.0,B9,Prospect One".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    let reasons = &out.summary.stops.without_coordinates_by_reason;
    for (reason, n) in [
        ("null", 1),
        ("zero", 1),
        ("outside", 1),
        ("swapped", 1),
        ("not_found", 1),
        ("non_finite", 0),
    ] {
        assert_eq!(reasons[reason], n, "{reason}");
    }
    assert_eq!(out.summary.stops.without_coordinates, 5);
    // The prospect already in the plan takes the prospect's coordinates and is sequenced.
    assert_eq!(out.stop_no("C1"), Some(1));
    assert_eq!(out.stop_no("P1"), Some(2));
    for c in ["CNULL", "CZERO", "COUT", "CSWAP", "UNKNOWN"] {
        assert_eq!(out.stop_no(c), Some(100), "{c}");
    }
    // Swapped coordinates are reported, not repaired: the stop is not sequenced.
}

#[tokio::test]
async fn rule2_first_customer_row_wins_and_duplicates_are_reported() {
    // With the first row C1 is nearest the depot; with the second it would be last.
    let tables = Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec![
            "C1,14.600,121.0,B1".into(),
            "C2,14.650,121.0,B1".into(),
            "C1,14.700,121.0,B1".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    assert_eq!(out.stop_no("C1"), Some(1));
    assert_eq!(out.stop_no("C2"), Some(2));
    assert_eq!(out.summary.duplicates.customer_custno, 1);
}

#[tokio::test]
async fn rule3_custype_precedence_customer_then_prospect_then_unknown() {
    let tables = Tables {
        plan: ["BOTH", "PONLY", "NEITHER"]
            .iter()
            .map(|c| Tables::stop(c))
            .collect(),
        customer: vec!["BOTH,14.60,121.0,B1".into()],
        prospective: vec![
            "BOTH,14.61,121.0,B1,Both Store".into(),
            "PONLY,14.62,121.0,B1,Prospect".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 0).await;
    assert_eq!(out.custype("BOTH").as_deref(), Some("customer"));
    assert_eq!(out.custype("PONLY").as_deref(), Some("prospect"));
    assert_eq!(out.custype("NEITHER").as_deref(), Some("unknown"));
    assert_eq!(out.summary.custype_rows["customer"], 1);
    assert_eq!(out.summary.custype_rows["unknown"], 1);
}

#[tokio::test]
async fn rule5_added_rows_copy_the_template_of_the_smallest_custno_row() {
    let tables = Tables {
        plan: vec![
            "C2,2026-12-01,Second,2,T2,A1,R2,D1,RC2,SO2,,".into(),
            "C1,2026-12-01,First,1,T1,A1,R1,D1,RC1,SO1,,".into(),
        ],
        customer: vec!["C1,14.600,121.000,B1".into(), "C2,14.601,121.000,B1".into()],
        prospective: vec!["P1,14.602,121.000,B1,Sari-Sari Store".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 3).await;
    let added = out.cust("P1");
    assert_eq!(added.len(), 1);
    let r = added[0];
    for (col, want) in [
        ("Name", "Sari-Sari Store"),
        ("custype", "prospect"),
        ("WD", "1"),
        ("SalesManTerritory", "T1"),
        ("RouteName", "R1"),
        ("RouteCode", "RC1"),
        ("SalesOfficeID", "SO1"),
        ("DistributorID", "D1"),
        ("AgentID", "A1"),
        ("RouteDate", "2026-12-01"),
    ] {
        assert_eq!(get(r, col), Some(want), "{col}");
    }
    assert_eq!(get(r, "StopNo"), Some("3"));
}

#[tokio::test]
async fn rule8_extra_columns_survive_and_added_rows_leave_them_null() {
    let mut plan_header = crate::support::PLAN_HEADER.replace(",custype", "");
    plan_header.push_str(",Remarks");
    let tables = Tables {
        plan_header: Some(plan_header),
        plan: vec!["C1,2026-12-01,Store,1,T1,A1,R1,D1,RC1,SO1,,keep me".into()],
        customer: vec!["C1,14.600,121.000,B1".into()],
        prospective: vec!["P1,14.601,121.000,B1,Prospect".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_nn(&tables, 2).await;
    assert_eq!(out.rows.len(), 2);
    assert_eq!(get(out.cust("C1")[0], "Remarks"), Some("keep me"));
    assert_eq!(get(out.cust("P1")[0], "Remarks"), None);
    assert_eq!(
        out.custype("C1").as_deref(),
        Some("customer"),
        "custype added when absent"
    );
}
