//! Whole-pipeline properties on the bundled fixtures: nothing lost, determinism at any concurrency,
//! idempotence over routeflow's own output, nearest-neighbour mode against a reference, the names
//! Rust and the SQL stages share, and progress counted on the handle a run passes in.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use routeflow::plan::sequence::SequenceMode;
use routeflow::plan::tsp::haversine_km;
use routeflow::plan::{self, PlanOptions};
use routeflow::progress::Progress;
use routeflow::summary::{self, Filters};
use routeflow::{names, run};

use crate::support::{Row, config, fixture_catalog, get, read_table, run_config};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/small")
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

/// The columns routeflow may change.
fn without_outputs(row: &Row) -> Row {
    let mut r = row.clone();
    r.remove("StopNo");
    r.remove("custype");
    r
}

#[tokio::test]
async fn nothing_is_lost_and_every_input_row_is_unchanged_but_for_stopno_and_custype() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_config(
        config(&fixtures(), &dir.path().join("out"), PlanOptions::default()),
        dir,
    )
    .await;
    let input = read_table(&fixtures().join("MonthlyRoutePlan_temp.parquet")).await;
    let s = &out.summary;
    assert_eq!(s.rows.read as usize, input.len());
    assert_eq!(out.rows.len(), input.len() + s.prospects_added.total as usize);
    assert!(s.prospects_added.total > 0, "the fixtures have short routes");

    // Every input row is present exactly once (as a multiset) with its other columns unchanged.
    let mut remaining: HashMap<Row, usize> = HashMap::new();
    for r in &out.rows {
        *remaining.entry(without_outputs(r)).or_default() += 1;
    }
    for r in &input {
        let key = without_outputs(r);
        let n = remaining
            .get_mut(&key)
            .unwrap_or_else(|| panic!("input row missing: {r:?}"));
        assert!(*n > 0, "input row missing: {r:?}");
        *n -= 1;
    }
    let left: usize = remaining.values().sum();
    assert_eq!(
        left, s.prospects_added.total as usize,
        "only added prospects remain"
    );

    // Every routed row has a StopNo and a custype.
    for r in &out.rows {
        let routed = ["DistributorID", "AgentID", "RouteDate", "CustNo"]
            .iter()
            .all(|c| get(r, c).is_some());
        if routed {
            assert!(get(r, "StopNo").is_some() && get(r, "custype").is_some(), "{r:?}");
        }
    }
    // Routed stops with coordinates are numbered 1..N without gaps in each route.
    let mut by_route: BTreeMap<(String, String, String), Vec<i64>> = BTreeMap::new();
    for r in &out.rows {
        if let (Some(d), Some(a), Some(t), Some(_)) = (
            get(r, "DistributorID"),
            get(r, "AgentID"),
            get(r, "RouteDate"),
            get(r, "CustNo"),
        ) {
            by_route
                .entry((d.into(), a.into(), t.into()))
                .or_default()
                .push(get(r, "StopNo").unwrap().parse().unwrap());
        }
    }
    for (route, mut stops) in by_route {
        stops.sort();
        stops.dedup();
        let n = stops.iter().filter(|&&s| s < 100).count() as i64;
        let numbered: Vec<i64> = stops.iter().copied().filter(|&s| s <= n).collect();
        assert_eq!(numbered, (1..=n).collect::<Vec<_>>(), "{route:?}");
    }
}

#[tokio::test]
async fn output_is_identical_at_concurrency_1_and_4() {
    let mut results = Vec::new();
    for concurrency in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(&fixtures(), &dir.path().join("out"), PlanOptions::default());
        cfg.concurrency = concurrency;
        let out = run_config(cfg, dir).await;
        results.push((out.rows, out.summary.distance_km.sequence));
    }
    assert_eq!(results[0].0, results[1].0, "same rows in the same order");
    assert_eq!(results[0].1, results[1].1);
}

#[tokio::test]
async fn a_second_run_over_its_own_output_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_config(
        config(&fixtures(), &dir.path().join("out"), PlanOptions::default()),
        dir,
    )
    .await;
    // Input of the second run: the first run's output plan and the same other tables.
    let again = tempfile::tempdir().unwrap();
    let input = again.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for t in ["customer", "prospective", "custvisit", "distributors"] {
        let name = format!("{t}.parquet");
        std::fs::copy(fixtures().join(&name), input.join(&name)).unwrap();
    }
    let plan_dir = input.join("MonthlyRoutePlan_temp");
    std::fs::create_dir_all(&plan_dir).unwrap();
    for f in std::fs::read_dir(first.out_dir().join("MonthlyRoutePlan_temp")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), plan_dir.join(f.file_name())).unwrap();
    }
    let second = run_config(
        config(&input, &again.path().join("out"), PlanOptions::default()),
        again,
    )
    .await;
    assert_eq!(second.summary.prospects_added.total, 0);
    assert_eq!(sorted(second.rows), sorted(first.rows.clone()));
}

#[tokio::test]
async fn nearest_neighbour_mode_matches_a_reference_implementation() {
    let dir = tempfile::tempdir().unwrap();
    let opts = PlanOptions {
        sequence: SequenceMode::NearestNeighbor,
        ..PlanOptions::default()
    };
    let out = run_config(config(&fixtures(), &dir.path().join("out"), opts), dir).await;

    // Coordinates per the contract: customer first row, else prospect; valid only inside the box.
    let valid = |lat: f64, lon: f64| {
        lat != 0.0 && lon != 0.0 && (4.0..=21.5).contains(&lat) && (116.0..=127.0).contains(&lon)
    };
    let mut coords: HashMap<String, Option<(f64, f64)>> = HashMap::new();
    let parse = |r: &Row, a: &str, b: &str| -> Option<(f64, f64)> {
        let lat: f64 = get(r, a)?.parse().ok()?;
        let lon: f64 = get(r, b)?.parse().ok()?;
        (lat.is_finite() && lon.is_finite() && valid(lat, lon)).then_some((lat, lon))
    };
    for r in read_table(&fixtures().join("customer.parquet")).await {
        if let Some(c) = get(&r, "CustNo") {
            coords
                .entry(c.to_string())
                .or_insert_with(|| parse(&r, "latitude", "longitude"));
        }
    }
    for r in read_table(&fixtures().join("prospective.parquet")).await {
        if let Some(c) = get(&r, "tdlinx") {
            coords
                .entry(c.to_string())
                .or_insert_with(|| parse(&r, "latitude", "longitude"));
        }
    }
    let mut depots: HashMap<String, (f64, f64)> = HashMap::new();
    for r in read_table(&fixtures().join("distributors.parquet")).await {
        if let Some(d) = get(&r, "DistributorID")
            && !depots.contains_key(d)
        {
            depots.insert(
                d.to_string(),
                parse(&r, "Latitude", "Longitude").unwrap_or((14.5995, 120.9842)),
            );
        }
    }

    let mut routes: BTreeMap<(String, String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for r in &out.rows {
        if let (Some(d), Some(a), Some(t), Some(c)) = (
            get(r, "DistributorID"),
            get(r, "AgentID"),
            get(r, "RouteDate"),
            get(r, "CustNo"),
        ) {
            routes
                .entry((d.into(), a.into(), t.into()))
                .or_default()
                .insert(c.to_string(), get(r, "StopNo").unwrap().parse().unwrap());
        }
    }
    let mut checked = 0;
    for ((dist, _, _), stops) in &routes {
        // Reference nearest neighbour: stops sorted by CustNo, strict < so ties keep the lowest CustNo.
        let mut pts: Vec<(&String, (f64, f64))> = stops
            .keys()
            .filter_map(|c| coords.get(c).copied().flatten().map(|p| (c, p)))
            .collect();
        let depot = depots.get(dist).copied().unwrap_or((14.5995, 120.9842));
        let mut at = depot;
        let mut expected = Vec::new();
        while !pts.is_empty() {
            let mut best = 0;
            for i in 1..pts.len() {
                let d = |p: (f64, f64)| haversine_km(at.0, at.1, p.0, p.1);
                if d(pts[i].1) < d(pts[best].1) {
                    best = i;
                }
            }
            let (c, p) = pts.remove(best);
            expected.push(c.clone());
            at = p;
        }
        let mut actual: Vec<(i64, &String)> = stops
            .iter()
            .filter(|(_, s)| **s <= expected.len() as i64)
            .map(|(c, s)| (*s, c))
            .collect();
        actual.sort();
        let actual: Vec<String> = actual.into_iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(actual, expected);
        checked += 1;
    }
    assert!(checked > 10);
}

#[tokio::test]
async fn improved_paths_are_never_longer_than_nearest_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_config(
        config(&fixtures(), &dir.path().join("out"), PlanOptions::default()),
        dir,
    )
    .await;
    let d = &out.summary.distance_km;
    assert!(d.sequence <= d.nearest_neighbor + 1e-9, "{d:?}");
    assert!(d.improvement_pct > 0.0, "{d:?}");
}

/// The scarce profile (`generate --prospects scarce`, one medium-scale distributor's 260 routes): the
/// routes need more prospects than there are, so they compete, the radius stage adds some and routes
/// stay short. Each prospect is still added at most once, and the output is the same at concurrency 1
/// and 4 (the top-up's regions run on every core).
#[tokio::test]
async fn scarce_prospects_leave_routes_short_and_the_output_does_not_depend_on_concurrency() {
    use routeflow::generate::{self, GenerateOptions, Prospects, Scale};
    let data = tempfile::tempdir().unwrap();
    let tables = generate::generate(&GenerateOptions {
        scale: Scale::Medium,
        seed: 42,
        factor: 1,
        prospects: Prospects::Scarce,
    });
    generate::write_parquet_dir(data.path(), &tables).unwrap();
    let distributor = "D003";
    let mut input = read_table(&data.path().join("MonthlyRoutePlan_temp.parquet")).await;
    input.retain(|r| get(r, "DistributorID") == Some(distributor));
    let mut results = Vec::new();
    for concurrency in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(data.path(), &dir.path().join("out"), PlanOptions::default());
        cfg.concurrency = concurrency;
        cfg.distributor_ids = vec![distributor.to_string()];
        let out = run_config(cfg, dir).await;
        let s = &out.summary;
        assert!(
            s.prospects_added.barangay > 0 && s.prospects_added.radius > 0,
            "{:?}",
            s.prospects_added
        );
        assert!(
            s.routes.short_after_topup > 0,
            "supply is below demand: some routes stay short"
        );
        // The rows beyond the input's are the added prospects: each a store not planned before, once.
        let mut counts: HashMap<Option<&str>, i64> = HashMap::new();
        for r in &out.rows {
            *counts.entry(get(r, "CustNo")).or_default() += 1;
        }
        for r in &input {
            *counts.entry(get(r, "CustNo")).or_default() -= 1;
        }
        let added: Vec<_> = counts.into_iter().filter(|&(_, n)| n != 0).collect();
        assert_eq!(added.len() as u64, s.prospects_added.total);
        assert!(
            added.iter().all(|&(_, n)| n == 1),
            "a prospect added twice or a row lost: {added:?}"
        );
        results.push(out.rows);
    }
    assert_eq!(results[0], results[1], "same rows in the same order");
}

/// Every view and column the Rust side reads (`routeflow::names::READ_FROM_VIEWS`) exists in the plan
/// registered on the fixtures, and the summary's queries run over the same views: a name changed
/// in `plans/` and not in Rust, or the other way round, fails here.
#[tokio::test]
async fn every_name_rust_reads_is_in_the_views() {
    let ctx = fixture_catalog().await;
    for (view, columns) in names::READ_FROM_VIEWS {
        let table = ctx
            .table(*view)
            .await
            .unwrap_or_else(|e| panic!("the plan has no view {view}: {e}"));
        let schema = table.schema();
        for column in *columns {
            assert!(
                schema.field_with_unqualified_name(column).is_ok(),
                "{view} has no column {column}; it has {:?}",
                schema.field_names()
            );
        }
    }
    summary::data_figures(&ctx)
        .await
        .expect("the summary's queries run over the views");
}

/// The sequencing operator counts each route it sequences on the progress the run hands it.
#[tokio::test]
async fn sequencing_counts_routes_on_the_progress_it_is_given() {
    let ctx = run::session(2);
    let source = run::open_source(&ctx, &fixtures().display().to_string(), &Default::default(), 2).unwrap();
    run::register_sources(&ctx, source.as_ref(), &Filters::default(), None)
        .await
        .unwrap();
    let progress = Progress::new();
    let mut routes = 0;
    plan::register_for_run(&ctx, &PlanOptions::default(), &progress, |_, materialized| {
        for (table, rows) in materialized {
            if *table == names::view::ROUTES {
                routes = *rows as u64;
            }
        }
    })
    .await
    .unwrap();
    assert!(routes > 0);
    assert_eq!(progress.snapshot().done, routes);
}
