//! Rule 4, the prospect top-up: stages, eligibility, centroid, blank barangays and the global order.

use routeflow::plan::PlanOptions;

use super::{depot, nn};
use crate::support::{Tables, get, run_tables};

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
