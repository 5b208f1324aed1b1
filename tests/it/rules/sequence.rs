//! Rules 6 and 7: where a route's path starts, and its StopNo values.

use std::collections::{BTreeMap, BTreeSet};

use routeflow::plan::PlanOptions;
use routeflow::plan::sequence::SequenceMode;

use super::{depot, nn, run_nn};
use crate::support::{Row, Tables, get, run_tables, text_rows};

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
    let nn_run = run_nn(&tables, 0).await;
    let d2 = &nn_run.summary.distance_km;
    assert!((d2.sequence - d2.nearest_neighbor).abs() < 1e-9);
    assert!((d2.sequence - d.nearest_neighbor).abs() < 1e-9);
}

/// Haversine distance in km on the contract's Earth (radius 6371 km), computed here rather than
/// taken from the code under test.
fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1, lat2, lon2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h =
        ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[tokio::test]
async fn rule6_a_distributor_without_a_valid_location_starts_at_manila_exactly() {
    // One single-stop route per distributor; every location but DOK's is invalid or missing.
    const MANILA: (f64, f64) = (14.5995, 120.9842);
    const STORE: (f64, f64) = (14.650, 121.050);
    let fallback = ["DZERO", "DNULL", "DOUT", "DSWAP", "DMISSING"];
    let tables = Tables {
        plan: fallback
            .iter()
            .chain(&["DOK"])
            .map(|d| Tables::stop_on(d, "A1", "2026-12-01", "C1"))
            .collect(),
        customer: vec![format!("C1,{},{},B1", STORE.0, STORE.1)],
        distributors: vec![
            "DZERO,0,0,Zero,x".into(),
            "DNULL,,121.000,Null latitude,x".into(),
            "DOUT,35.000,139.000,Outside the box,x".into(),
            "DSWAP,121.000,14.600,Swapped,x".into(),
            "DOK,14.700,121.100,Valid,x".into(),
        ],
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    tables.write(dir.path());
    let ctx = routeflow::sql::catalog(&routeflow::sql::CatalogConfig {
        input: dir.path().display().to_string(),
        filters: Default::default(),
        concurrency: 2,
        plan: PlanOptions {
            target_stops: 0,
            ..nn()
        },
        mssql: Default::default(),
        snapshot: None,
        runs: None,
    })
    .await
    .unwrap();
    let batches = ctx
        .sql(
            "SELECT r.DistributorID, r.depot_lat, r.depot_lon, r.depot_source, s.route_km \
             FROM routes AS r JOIN route_summary AS s ON s.DistributorID = r.DistributorID \
             ORDER BY r.DistributorID",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let rows = text_rows(&batches);
    assert_eq!(rows.len(), 6);
    let number = |row: &Row, col: &str| get(row, col).unwrap().parse::<f64>().unwrap();
    for row in &rows {
        let dist = get(row, "DistributorID").unwrap();
        let (want, source) = match dist {
            "DOK" => ((14.700, 121.100), "distributor"),
            _ => (MANILA, "fallback"),
        };
        let depot = (number(row, "depot_lat"), number(row, "depot_lon"));
        assert_eq!(depot, want, "{dist}: depot");
        assert_eq!(get(row, "depot_source"), Some(source), "{dist}");
        // The path of a single stop is its first leg: from the depot to the store.
        let km = number(row, "route_km");
        let leg = haversine_km(want, STORE);
        assert!(
            (km - leg).abs() < 1e-9,
            "{dist}: route_km {km}, from {want:?} {leg}"
        );
    }
    let out = run_nn(&tables, 0).await;
    assert_eq!(out.summary.depots["fallback"], fallback.len() as u64);
    let expected_km = 5.0 * haversine_km(MANILA, STORE) + haversine_km((14.700, 121.100), STORE);
    // The summary rounds its km; a start 1.7 km off at (14.6, 121.0) would move this by kilometres.
    let km = out.summary.distance_km.sequence;
    assert!(
        (km - expected_km).abs() < 1e-3,
        "total {km} km, expected {expected_km}"
    );
}

/// Rule 7 over every written row: per route, the rows with coordinates (CustNo not in
/// `without_coords`) that share a StopNo are one stop, the rows of one stop share one StopNo, and the
/// numbers are exactly 1..N. Nothing is deduplicated before the check.
fn assert_one_stop_per_number(rows: &[Row], without_coords: &[&str]) {
    type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let mut by_route: BTreeMap<Key, Vec<(&str, i64)>> = BTreeMap::new();
    for row in rows {
        let cust = get(row, "CustNo").unwrap();
        if without_coords.contains(&cust) {
            continue;
        }
        let key = (
            get(row, "DistributorID"),
            get(row, "AgentID"),
            get(row, "RouteDate"),
        );
        let stop: i64 = get(row, "StopNo").unwrap().parse().unwrap();
        by_route.entry(key).or_default().push((cust, stop));
    }
    for (route, stops) in &by_route {
        let mut custs_of: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
        let mut numbers_of: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        for &(cust, stop) in stops {
            custs_of.entry(stop).or_default().insert(cust);
            numbers_of.entry(cust).or_default().insert(stop);
        }
        for (stop, custs) in &custs_of {
            assert_eq!(custs.len(), 1, "{route:?}: StopNo {stop} is shared by {custs:?}");
        }
        for (cust, numbers) in &numbers_of {
            assert_eq!(
                numbers.len(),
                1,
                "{route:?}: the rows of {cust} got StopNo {numbers:?}"
            );
        }
        let n = numbers_of.len() as i64;
        let numbers: Vec<i64> = custs_of.keys().copied().collect();
        assert_eq!(numbers, (1..=n).collect::<Vec<_>>(), "{route:?}: StopNo 1..N");
    }
}

#[tokio::test]
async fn rule7_different_stops_never_share_a_stop_no_and_duplicate_rows_always_do() {
    // Two routes over partly the same stores, with stores planned twice and three times, two stops
    // without coordinates (which do share theirs), and prospects added, in both sequence modes.
    let lats = [14.600, 14.592, 14.611, 14.570, 14.640, 14.540, 14.605];
    let mut plan: Vec<String> = [
        "C0", "C1", "C2", "C1", "C3", "C4", "C1", "C5", "C3", "NOPE1", "NOPE2",
    ]
    .iter()
    .map(|c| Tables::stop(c))
    .collect();
    for c in ["C0", "C6", "C2", "C6", "NOPE1"] {
        plan.push(Tables::stop_on("D1", "A2", "2026-12-01", c));
    }
    let tables = Tables {
        plan,
        customer: lats
            .iter()
            .enumerate()
            .map(|(i, lat)| format!("C{i},{lat},121.000,B1"))
            .collect(),
        prospective: (0..4)
            .map(|i| format!("P{i},14.6{i}5,121.010,B1,Prospect {i}"))
            .collect(),
        distributors: vec!["D1,14.596,121.000,Warehouse,x".into()],
        ..Default::default()
    };
    for sequence in [SequenceMode::Improved, SequenceMode::NearestNeighbor] {
        let out = run_tables(
            &tables,
            PlanOptions {
                target_stops: 10,
                sequence,
                ..PlanOptions::default()
            },
        )
        .await;
        assert_eq!(out.summary.rows.added, 4, "{sequence:?}");
        assert_one_stop_per_number(&out.rows, &["NOPE1", "NOPE2"]);
        for row in out.cust("NOPE1").iter().chain(&out.cust("NOPE2")) {
            assert_eq!(get(row, "StopNo"), Some("100"));
        }
    }
}
