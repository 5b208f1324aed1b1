//! Rules 6 and 7: where a route's path starts, and its StopNo values.

use routeflow::plan::PlanOptions;

use super::{depot, nn};
use crate::support::{Tables, get, run_tables};

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
