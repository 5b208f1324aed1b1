//! The properties, each a check of a run's output rows against the [`Model`] of its input. Every
//! failure message starts with the number of the property (issue 20, item 5) it breaks.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::model::{Model, RouteKey, haversine_km};
use crate::support::{Row, get};

type Check = Result<(), TestCaseError>;

/// Columns an added row copies from its route's row with the smallest CustNo (rule 5).
const TEMPLATE: [&str; 5] = [
    "WD",
    "SalesManTerritory",
    "RouteName",
    "RouteCode",
    "SalesOfficeID",
];

/// The route and CustNo of a routed row; `None` when a key is NULL (rule 1).
pub fn routed(row: &Row) -> Option<(RouteKey, String)> {
    let text = |c: &str| get(row, c).map(str::to_string);
    Some((
        (text("DistributorID")?, text("AgentID")?, text("RouteDate")?),
        text("CustNo")?,
    ))
}

/// The row without StopNo and custype, the two columns a run may change.
fn kept_part(row: &Row) -> Vec<(String, Option<String>)> {
    row.iter()
        .filter(|(c, _)| c.as_str() != "StopNo" && c.as_str() != "custype")
        .map(|(c, v)| (c.clone(), v.clone()))
        .collect()
}

fn multiset<T: Ord>(items: impl Iterator<Item = T>) -> BTreeMap<T, usize> {
    let mut counts = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    counts
}

/// Property 1: every input row is in the output exactly once (all columns but StopNo and custype),
/// and the other output rows are well-formed added prospects (rule 5). Rows with a NULL key are
/// unchanged in every column (property 2's last clause); routed rows carry rule 3's custype.
/// Returns the added rows.
pub fn every_row_once<'r>(
    model: &Model,
    input: &[Row],
    out: &'r [Row],
) -> Result<Vec<&'r Row>, TestCaseError> {
    let mut expected = multiset(input.iter().map(kept_part));
    let mut added = Vec::new();
    for row in out {
        match expected.get_mut(&kept_part(row)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => added.push(row),
        }
    }
    let missing: Vec<_> = expected.iter().filter(|(_, n)| **n > 0).collect();
    prop_assert!(
        missing.is_empty(),
        "property 1: input rows missing from the output: {missing:?}"
    );
    prop_assert_eq!(out.len(), input.len() + added.len(), "property 1: row count");

    let unrouted = |rows: &[Row]| multiset(rows.iter().filter(|r| routed(r).is_none()).cloned());
    prop_assert_eq!(
        unrouted(input),
        unrouted(out),
        "property 2: rows with a NULL key changed"
    );

    for row in out {
        if let Some((_, cust)) = routed(row) {
            prop_assert_eq!(
                get(row, "custype"),
                Some(model.custype(&cust)),
                "rule 3: custype of {}",
                cust
            );
        }
    }
    for row in &added {
        let Some((route, cust)) = routed(row) else {
            return Err(TestCaseError::fail(format!(
                "property 1: an added row has a NULL key: {row:?}"
            )));
        };
        prop_assert!(
            model.routes.contains_key(&route),
            "property 1: row added to no route: {row:?}"
        );
        prop_assert_eq!(
            get(row, "Name"),
            model.prospect_name(&cust),
            "rule 5: name of {}",
            cust
        );
        // The template: a row of the route with its smallest CustNo (which one among duplicate rows
        // the contract leaves open).
        let smallest = model.routes[&route].first().unwrap();
        let template_ok = input.iter().any(|r| {
            routed(r).is_some_and(|(k, c)| k == route && c == *smallest)
                && TEMPLATE.iter().all(|col| get(r, col) == get(row, col))
        });
        prop_assert!(
            template_ok,
            "rule 5: template columns of {row:?} (smallest CustNo {smallest})"
        );
    }
    Ok(added)
}

/// Routed output rows by route.
pub fn by_route(out: &[Row]) -> BTreeMap<RouteKey, Vec<(String, &Row)>> {
    let mut routes: BTreeMap<RouteKey, Vec<(String, &Row)>> = BTreeMap::new();
    for row in out {
        if let Some((route, cust)) = routed(row) {
            routes.entry(route).or_default().push((cust, row));
        }
    }
    routes
}

/// Each distinct stop of a route with its one StopNo (duplicate rows must agree).
fn stop_numbers(route: &RouteKey, rows: &[(String, &Row)]) -> Result<BTreeMap<String, i64>, TestCaseError> {
    let mut stops = BTreeMap::new();
    for (cust, row) in rows {
        let n: i64 = get(row, "StopNo").and_then(|s| s.parse().ok()).ok_or_else(|| {
            TestCaseError::fail(format!("property 2: routed row without a StopNo: {row:?}"))
        })?;
        let first = *stops.entry(cust.clone()).or_insert(n);
        prop_assert_eq!(
            first,
            n,
            "property 2: rows of {} in {:?} differ in StopNo",
            cust,
            route
        );
    }
    Ok(stops)
}

/// Property 2: per route the stops with coordinates are numbered 1..N, one number each, duplicate
/// rows sharing theirs; the others get max(no_coords_stop, N + 1).
pub fn stops_numbered(model: &Model, out: &[Row]) -> Check {
    for (route, rows) in by_route(out) {
        let stops = stop_numbers(&route, &rows)?;
        let (with, without): (Vec<_>, Vec<_>) = stops.iter().partition(|(c, _)| model.coords(c).is_some());
        let mut numbers: Vec<i64> = with.iter().map(|(_, n)| **n).collect();
        numbers.sort_unstable();
        let n = numbers.len() as i64;
        prop_assert_eq!(
            &numbers,
            &(1..=n).collect::<Vec<_>>(),
            "property 2: StopNo of {:?}: {:?}",
            route,
            with
        );
        let no_coords = i64::from(model.opts.no_coords_stop).max(n + 1);
        for (cust, stop) in without {
            prop_assert_eq!(
                *stop,
                no_coords,
                "property 2: {} has no coordinates, in {:?}",
                cust,
                route
            );
        }
    }
    Ok(())
}

/// Properties 3 and 4: no prospect is added twice (to one route or to two: rule 4 gives each at most
/// once per run), each added one was eligible for its route, no route gets more than it needs, and
/// a route left short has no eligible prospect that nobody was given.
pub fn prospects_added_once_and_eligible(model: &Model, added: &[&Row]) -> Check {
    // Distances are the contract's haversine; the slack only absorbs rounding at the radius.
    const SLACK_KM: f64 = 1e-6;
    let mut given: BTreeMap<String, RouteKey> = BTreeMap::new();
    let mut per_route: BTreeMap<RouteKey, usize> = BTreeMap::new();
    for row in added {
        let (route, cust) = routed(row).expect("checked by property 1");
        if let Some(other) = given.insert(cust.clone(), route.clone()) {
            return Err(TestCaseError::fail(format!(
                "property 3: prospect {cust} added twice: to {other:?} and to {route:?}"
            )));
        }
        if let Some(why) = model.ineligible(&route, &cust, SLACK_KM) {
            return Err(TestCaseError::fail(format!(
                "property 4: {cust} added to {route:?} but not eligible: {why}"
            )));
        }
        *per_route.entry(route).or_default() += 1;
    }
    for route in model.routes.keys() {
        let got = per_route.get(route).copied().unwrap_or(0);
        let need = model.need(route);
        prop_assert!(
            got <= need,
            "property 4: {:?} needed {} and got {}",
            route,
            need,
            got
        );
        if got < need {
            let left: Vec<&str> = model
                .prospect_ids()
                .filter(|p| !given.contains_key(*p) && model.eligible(route, p, -SLACK_KM))
                .collect();
            prop_assert!(
                left.is_empty(),
                "property 4: {:?} is short but {:?} were free and eligible",
                route,
                left
            );
        }
    }
    Ok(())
}

/// A route's distinct stops with coordinates in StopNo order.
fn path(model: &Model, rows: &[(String, &Row)]) -> Vec<(String, (f64, f64))> {
    let mut stops: BTreeSet<(i64, String)> = BTreeSet::new();
    for (cust, row) in rows {
        if model.coords(cust).is_some() {
            stops.insert((get(row, "StopNo").unwrap().parse().unwrap(), cust.clone()));
        }
    }
    stops
        .into_iter()
        .map(|(_, c)| (c.clone(), model.coords(&c).unwrap()))
        .collect()
}

/// Length of the open path from `depot` through `stops` in order.
fn path_km(depot: (f64, f64), stops: &[(String, (f64, f64))]) -> f64 {
    let mut at = depot;
    let mut km = 0.0;
    for (_, p) in stops {
        km += haversine_km(at, *p);
        at = *p;
    }
    km
}

/// The nearest-neighbour run's path is one: each stop is a nearest unvisited one (within rounding),
/// and between stores at the same point the lowest CustNo comes first (rule 7).
fn is_nearest_neighbour(route: &RouteKey, depot: (f64, f64), stops: &[(String, (f64, f64))]) -> Check {
    let mut at = depot;
    for (i, (cust, p)) in stops.iter().enumerate() {
        let rest = &stops[i..];
        let nearest = rest
            .iter()
            .map(|(_, q)| haversine_km(at, *q))
            .fold(f64::INFINITY, f64::min);
        prop_assert!(
            haversine_km(at, *p) <= nearest + 1e-9,
            "property 6: nearest neighbour's stop {} of {:?} is {} but {} km was possible",
            i + 1,
            route,
            cust,
            nearest
        );
        let tie = rest.iter().find(|(c, q)| q == p && c < cust);
        prop_assert!(
            tie.is_none(),
            "property 6: tie at {:?} in {:?} not broken by lowest CustNo",
            p,
            route
        );
        at = *p;
    }
    Ok(())
}

/// Property 6: on every route the improved path, measured here from the written StopNo and the
/// stores' coordinates, is no longer than the nearest-neighbour run's path measured the same way
/// (and that run's path is checked to be nearest neighbour's). Both runs added the same rows.
pub fn improved_never_longer(model: &Model, improved: &[Row], nn: &[Row]) -> Check {
    let same = |rows: &[Row]| multiset(rows.iter().map(kept_part));
    prop_assert!(
        same(improved) == same(nn),
        "property 6: the two modes added different rows"
    );
    let nn_routes = by_route(nn);
    for (route, rows) in by_route(improved) {
        let depot = model.depot(&route.0);
        let nn_path = path(model, &nn_routes[&route]);
        is_nearest_neighbour(&route, depot, &nn_path)?;
        let (better, nn_km) = (path_km(depot, &path(model, &rows)), path_km(depot, &nn_path));
        prop_assert!(
            better <= nn_km + 1e-6,
            "property 6: {:?}: improved path {} km, nearest neighbour {} km",
            route,
            better,
            nn_km
        );
    }
    Ok(())
}
