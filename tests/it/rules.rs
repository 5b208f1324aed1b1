//! One or more tests per rule of the domain contract (`shared/docs/route-plan.md`), on small
//! hand-built tables. Each would fail if its rule were broken.

use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;

use crate::support::{Tables, get, run_tables};

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
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 0,
            ..nn()
        },
    )
    .await;
    assert_eq!(out.custype("BOTH").as_deref(), Some("customer"));
    assert_eq!(out.custype("PONLY").as_deref(), Some("prospect"));
    assert_eq!(out.custype("NEITHER").as_deref(), Some("unknown"));
    assert_eq!(out.summary.custype_rows["customer"], 1);
    assert_eq!(out.summary.custype_rows["unknown"], 1);
}

#[tokio::test]
async fn rule4_barangay_stage_comes_before_radius_stage() {
    // PR is nearer the centroid but only PB shares the customer's barangay (after trimming).
    let tables = Tables {
        plan: vec![Tables::stop("C1")],
        customer: vec!["C1,14.600,121.000, B1 ".into()],
        prospective: vec![
            "PB,14.620,121.000,B1,Barangay Store".into(),
            "PR,14.601,121.000,B2,Radius Store".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 2,
            ..nn()
        },
    )
    .await;
    assert_eq!(out.cust("PB").len(), 1);
    assert!(out.cust("PR").is_empty());
    assert_eq!(out.summary.prospects_added.barangay, 1);
    assert_eq!(out.summary.prospects_added.radius, 0);

    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 3,
            ..nn()
        },
    )
    .await;
    assert_eq!(
        out.cust("PR").len(),
        1,
        "the radius stage fills what the barangay stage left"
    );
    assert_eq!(out.summary.prospects_added.radius, 1);
}

#[tokio::test]
async fn rule4_radius_stage_respects_the_distance_limit() {
    let tables = Tables {
        plan: vec![Tables::stop("C1")],
        customer: vec!["C1,14.600,121.000,B1".into()],
        // ~4.4 km and ~5.6 km north of the centroid.
        prospective: vec![
            "NEAR,14.640,121.000,,Near".into(),
            "FAR,14.650,121.000,,Far".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(&tables, nn()).await;
    assert_eq!(out.cust("NEAR").len(), 1);
    assert!(out.cust("FAR").is_empty());
    assert_eq!(out.summary.routes.short_after_topup, 1);
}

#[tokio::test]
async fn rule4_contested_prospect_goes_to_the_nearer_route() {
    let tables = Tables {
        plan: vec![
            Tables::stop_on("D1", "A1", "2026-12-01", "C1"),
            Tables::stop_on("D1", "A2", "2026-12-01", "C2"),
        ],
        customer: vec!["C1,14.630,121.000,B1".into(), "C2,14.610,121.000,B2".into()],
        prospective: vec!["P,14.600,121.000,B9,Contested".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 2,
            ..nn()
        },
    )
    .await;
    let p = out.cust("P");
    assert_eq!(p.len(), 1, "each prospect is added at most once");
    assert_eq!(get(p[0], "AgentID"), Some("A2"));
}

#[tokio::test]
async fn rule4_ineligible_prospects_are_never_added() {
    let tables = Tables {
        plan: vec![
            Tables::stop("C1"),
            Tables::stop_on("D1", "A2", "2026-12-01", "PPLANNED"),
        ],
        customer: vec!["C1,14.600,121.000,B1".into(), "PCUST,14.700,121.000,B1".into()],
        prospective: vec![
            "PVISITED,14.601,121.000,B1,Visited".into(),
            "PCUST,14.602,121.000,B1,Now a customer".into(),
            "PPLANNED,14.603,121.000,B1,Planned elsewhere".into(),
            "PBAD,0,121.000,B1,Bad coordinates".into(),
            "POK,14.604,121.000,B1,Eligible".into(),
        ],
        custvisit: vec!["PVISITED,A9,2026-10-01".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 10,
            ..nn()
        },
    )
    .await;
    assert_eq!(out.cust("POK").len(), 1);
    assert!(out.cust("PVISITED").is_empty());
    assert!(out.cust("PBAD").is_empty());
    assert_eq!(
        out.cust("PCUST").len(),
        0,
        "a customer is not a prospect any more"
    );
    assert_eq!(out.cust("PPLANNED").len(), 1, "only its planned row");
}

#[tokio::test]
async fn rule4_blank_barangay_never_matches_and_routes_without_centroid_use_prospect_order() {
    // C1 has no valid coordinates, so the route has no centroid; stage 1 still applies by barangay,
    // in tdlinx order. Blank codes never match.
    let tables = Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,,,B1".into(), "C2,,,   ".into()],
        prospective: vec![
            "PZ,14.600,121.000,B1,Z".into(),
            "PA,14.900,121.000,B1,A".into(),
            "PBLANK,14.600,121.000,   ,Blank".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 3,
            ..nn()
        },
    )
    .await;
    assert_eq!(out.cust("PA").len(), 1, "lowest tdlinx first");
    assert!(out.cust("PZ").is_empty());
    assert!(out.cust("PBLANK").is_empty());
    assert_eq!(out.summary.routes.without_centroid, 1);
}

#[tokio::test]
async fn rule4_full_routes_get_nothing() {
    let tables = Tables {
        plan: vec![Tables::stop("C1"), Tables::stop("C2")],
        customer: vec!["C1,14.600,121.000,B1".into(), "C2,14.601,121.000,B1".into()],
        prospective: vec!["P1,14.602,121.000,B1,P".into()],
        distributors: vec![depot()],
        ..Default::default()
    };
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 2,
            ..nn()
        },
    )
    .await;
    assert!(out.cust("P1").is_empty());
    assert_eq!(out.summary.rows.added, 0);
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
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 3,
            ..nn()
        },
    )
    .await;
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
async fn rule6_depot_override_then_distributor_then_manila() {
    let tables = |dist: &str| Tables {
        plan: vec![Tables::stop("NORTH"), Tables::stop("SOUTH")],
        customer: vec!["NORTH,14.700,121.000,B1".into(), "SOUTH,14.500,121.000,B1".into()],
        distributors: vec![dist.to_string(), "D1,14.400,121.000,Second row,ignored".into()],
        ..Default::default()
    };
    let opts = PlanOptions {
        target_stops: 0,
        ..nn()
    };
    let out = run_tables(&tables("D1,14.720,121.000,North warehouse,x"), opts.clone()).await;
    assert_eq!(out.stop_no("NORTH"), Some(1), "first distributor row");
    assert_eq!(out.summary.duplicates.distributors_id, 1);

    let start = PlanOptions {
        start: Some((14.45, 121.0)),
        ..opts.clone()
    };
    let out = run_tables(&tables("D1,14.720,121.000,North warehouse,x"), start).await;
    assert_eq!(
        out.stop_no("SOUTH"),
        Some(1),
        "the start option overrides the distributor"
    );

    // Invalid distributor location: Manila (14.5995, 120.9842), nearer SOUTH.
    let out = run_tables(&tables("D1,0,0,Broken,x"), opts).await;
    assert_eq!(out.stop_no("SOUTH"), Some(1));
    assert_eq!(out.summary.depots["fallback"], 1);
}

#[tokio::test]
async fn rule7_duplicates_share_a_stop_and_no_coordinate_stops_go_last() {
    let tables = Tables {
        plan: vec![
            Tables::stop("C1"),
            Tables::stop("C2"),
            Tables::stop("C2"),
            Tables::stop("C3"),
            Tables::stop("NOPE"),
        ],
        customer: vec![
            "C1,14.600,121.000,B1".into(),
            "C2,14.610,121.000,B1".into(),
            "C3,14.620,121.000,B1".into(),
        ],
        distributors: vec![depot()],
        ..Default::default()
    };
    let opts = PlanOptions {
        target_stops: 0,
        no_coords_stop: 2,
        ..nn()
    };
    let out = run_tables(&tables, opts).await;
    let c2: Vec<_> = out
        .cust("C2")
        .iter()
        .map(|r| get(r, "StopNo").unwrap().to_string())
        .collect();
    assert_eq!(c2, ["2", "2"]);
    assert_eq!(out.stop_no("C3"), Some(3));
    assert_eq!(out.stop_no("NOPE"), Some(4), "max(no_coords_stop, N + 1)");
    assert_eq!(out.summary.duplicates.plan_rows_same_stop, 1);
}

#[tokio::test]
async fn rule7_improved_path_is_shorter_than_nearest_neighbour_when_it_can_be() {
    // Stores on a line on both sides of the depot: nearest neighbour zig-zags.
    let lats = [14.600, 14.592, 14.611, 14.570, 14.640, 14.540];
    let tables = Tables {
        plan: (0..lats.len()).map(|i| Tables::stop(&format!("C{i}"))).collect(),
        customer: lats
            .iter()
            .enumerate()
            .map(|(i, lat)| format!("C{i},{lat},121.000,B1"))
            .collect(),
        distributors: vec!["D1,14.596,121.000,Warehouse,x".into()],
        ..Default::default()
    };
    let improved = run_tables(
        &tables,
        PlanOptions {
            target_stops: 0,
            ..PlanOptions::default()
        },
    )
    .await;
    let d = &improved.summary.distance_km;
    assert!(d.sequence < d.nearest_neighbor - 1e-6, "{d:?}");
    let nn_run = run_tables(
        &tables,
        PlanOptions {
            target_stops: 0,
            ..nn()
        },
    )
    .await;
    let d2 = &nn_run.summary.distance_km;
    assert!((d2.sequence - d2.nearest_neighbor).abs() < 1e-9);
    assert!((d2.sequence - d.nearest_neighbor).abs() < 1e-9);
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
    let out = run_tables(
        &tables,
        PlanOptions {
            target_stops: 2,
            ..nn()
        },
    )
    .await;
    assert_eq!(out.rows.len(), 2);
    assert_eq!(get(out.cust("C1")[0], "Remarks"), Some("keep me"));
    assert_eq!(get(out.cust("P1")[0], "Remarks"), None);
    assert_eq!(
        out.custype("C1").as_deref(),
        Some("customer"),
        "custype added when absent"
    );
}
