//! Random small plans: the proptest strategy for the five input tables ([`Spec`]).
//!
//! Stores come in two pools: the plan's stores (`S…`, customers more often than not) and stores only
//! the top-up may add (`P…`, prospects more often than not). Either may be a customer, a prospect,
//! both or neither, listed twice in its table, visited; every coordinate pair is valid or bad in one
//! of the contract's ways. Valid points sit on a few shared sites (often exactly, so distinct stores
//! share coordinates and the sequencer meets ties) in two clusters far apart.

use proptest::prelude::*;
use proptest::sample::Index;

use super::tables::{AGENTS, DISTRIBUTORS, DistributorRow, Opts, Pair, PlanRow, Spec, StoreRow, VisitRow};

/// Shared sites of valid points: half around Manila, half around Cebu, up to ±0.06° apart.
fn site(k: usize) -> (f64, f64) {
    let centre = [(14.60, 121.00), (10.30, 123.90)][k % 2];
    let step = |m: usize| ((k * m) % 25) as f64 - 12.0;
    (centre.0 + step(37) * 0.005, centre.1 + step(53) * 0.005)
}

fn valid_point() -> impl Strategy<Value = (f64, f64)> {
    let jitter = prop_oneof![Just((0, 0)), (-300..300i32, -300..300i32)];
    (0..16usize, jitter).prop_map(|(k, (a, b))| {
        let (lat, lon) = site(k);
        (lat + f64::from(a) * 1e-4, lon + f64::from(b) * 1e-4)
    })
}

/// A coordinate pair: valid most of the time, else NULL, NaN/infinite, zero, swapped, outside the
/// box, or on the box's edges (valid, bounds inclusive).
fn pair() -> impl Strategy<Value = Pair> {
    let fixed = |v: Vec<Pair>| proptest::sample::select(v);
    prop_oneof![
        12 => valid_point().prop_map(|(a, b)| (Some(a), Some(b))),
        1 => fixed(vec![(None, Some(121.0)), (Some(14.6), None), (None, None)]),
        1 => fixed(vec![
            (Some(f64::NAN), Some(121.0)),
            (Some(14.6), Some(f64::INFINITY)),
            (Some(f64::NEG_INFINITY), Some(121.0)),
        ]),
        1 => fixed(vec![(Some(0.0), Some(121.0)), (Some(14.6), Some(0.0)), (Some(0.0), Some(0.0))]),
        1 => valid_point().prop_map(|(a, b)| (Some(b), Some(a))),
        1 => fixed(vec![
            (Some(35.0), Some(139.0)),
            (Some(-14.6), Some(121.0)),
            (Some(21.500_000_1), Some(127.0)),
            (Some(14.6), Some(115.999_9)),
        ]),
        1 => fixed(vec![(Some(4.0), Some(116.0)), (Some(21.5), Some(127.0))]),
    ]
}

/// A barangay code: real, padded with spaces, empty, blank or NULL.
fn area() -> impl Strategy<Value = Option<String>> {
    proptest::sample::select(vec![
        None,
        Some(""),
        Some("  "),
        Some("B1"),
        Some("B2"),
        Some("B3"),
        Some("B4"),
        Some(" B2 "),
    ])
    .prop_map(|s| s.map(str::to_string))
}

/// A store's entries: its `customer` rows, its `prospective` rows and a visit (agent, date).
type StoreSpec = (
    Vec<(Pair, Option<String>)>,
    Vec<(Pair, Option<String>, bool)>,
    Option<(bool, usize)>,
);

/// How many rows a store has in a table, with weights for 0, 1 and 2 (listed twice).
fn rows<T: Strategy>(row: impl Fn() -> T, weights: [u32; 3]) -> impl Strategy<Value = Vec<T::Value>> {
    use proptest::collection::vec;
    prop_oneof![
        weights[0] => vec(row(), 0..=0),
        weights[1] => vec(row(), 1..=1),
        weights[2] => vec(row(), 2..=2),
    ]
}

fn store(customer: [u32; 3], prospect: [u32; 3]) -> impl Strategy<Value = StoreSpec> {
    (
        rows(|| (pair(), area()), customer),
        rows(|| (pair(), area(), any::<bool>()), prospect),
        proptest::option::weighted(0.15, (any::<bool>(), 0..3usize)),
    )
}

/// A plan row's values other than its keys: name, WD, StopNo, custype, source position.
type Extras = (Option<u8>, Option<u8>, Option<u8>, u8, u16);

fn extras() -> impl Strategy<Value = Extras> {
    (
        proptest::option::of(0..4u8),
        proptest::option::of(1..7u8),
        proptest::option::of(1..150u8),
        0..3u8,
        any::<u16>(),
    )
}

/// A route: (distributor, agent, date) and its rows (store, extras). Keys may repeat (one bigger
/// route). Short routes get topped up; long ones (up to 71 rows) exercise both sequencers.
type RouteSpec = (usize, usize, usize, Vec<(Index, Extras)>);

fn route() -> impl Strategy<Value = RouteSpec> {
    use proptest::collection::vec;
    let row = || (any::<Index>(), extras()).no_shrink();
    let stops = prop_oneof![vec(row(), 1..8), vec(row(), 30..72)];
    (0..3usize, 0..2usize, 0..2usize, stops)
}

/// A row with at least one NULL key: bit 0 DistributorID, 1 AgentID, 2 RouteDate, 3 CustNo.
type StraySpec = (u8, (usize, usize, usize), Index, Extras);

fn stray() -> impl Strategy<Value = StraySpec> {
    (
        1..16u8,
        (0..3usize, 0..2usize, 0..2usize),
        any::<Index>(),
        extras(),
    )
        .no_shrink()
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        proptest::sample::select(vec![60u32, 60, 20, 8]),
        proptest::sample::select(vec![5.0f64, 5.0, 2.0, 20.0]),
        proptest::sample::select(vec![100i32, 100, 1, 40]),
    )
        .prop_map(|(target_stops, radius_km, no_coords_stop)| Opts {
            target_stops,
            radius_km,
            no_coords_stop,
        })
}

/// The strategy: a few distributors, agents, dates and routes over up to 80 planned and 80 other
/// stores.
///
/// Shrinking runs a case per step, so it is kept to what makes a counterexample readable: routes,
/// rows and stores are deleted (routes and rows first), values are not simplified.
pub fn spec() -> impl Strategy<Value = Spec> {
    use proptest::collection::vec;
    let planned = vec(store([2, 6, 1], [6, 3, 1]).no_shrink(), 8..80);
    let others = vec(store([8, 1, 0], [1, 6, 1]).no_shrink(), 0..80);
    let depots = vec(rows(pair, [2, 6, 1]), 3..=3).no_shrink();
    (
        vec(route(), 1..=4),
        vec(stray(), 0..6),
        others,
        planned,
        depots,
        opts(),
    )
        .prop_map(|(routes, strays, others, planned, depots, opts)| {
            build(&planned, &others, &routes, &strays, &depots, opts)
        })
}

fn plan_row(cust: Option<String>, key: (Option<usize>, Option<usize>, Option<usize>), x: &Extras) -> PlanRow {
    let (name, wd, stop_no, custype, _) = *x;
    let text = |p: &str, v: Option<u8>| v.map(|v| format!("{p}{v}"));
    PlanRow {
        cust,
        date: key.2,
        name: text("Name ", name),
        wd: wd.map(i32::from),
        territory: text("T", wd),
        agent: key.1.map(|a| AGENTS[a].to_string()),
        route_name: text("R", name),
        dist: key.0.map(|d| DISTRIBUTORS[d].to_string()),
        route_code: text("RC", stop_no.map(|s| s % 3)),
        office: Some("SO1".into()),
        stop_no: stop_no.map(i32::from),
        custype: [None, Some("customer"), Some("junk")][custype as usize].map(str::to_string),
    }
}

fn build(
    planned: &[StoreSpec],
    others: &[StoreSpec],
    routes: &[RouteSpec],
    strays: &[StraySpec],
    depots: &[Vec<Pair>],
    opts: Opts,
) -> Spec {
    let id = |i: usize| format!("S{i:03}");
    // Plan rows in an order of their own (by the generated position), so that duplicates and routes
    // interleave.
    let mut plan: Vec<(u16, PlanRow)> = Vec::new();
    for (d, a, t, stops) in routes {
        for (store, x) in stops {
            let cust = Some(id(store.index(planned.len())));
            plan.push((x.4, plan_row(cust, (Some(*d), Some(*a), Some(*t)), x)));
        }
    }
    for (mask, (d, a, t), store, x) in strays {
        let keep = |bit: u8, v: usize| (mask & (1 << bit) == 0).then_some(v);
        let cust = keep(3, store.index(planned.len())).map(id);
        plan.push((x.4, plan_row(cust, (keep(0, *d), keep(1, *a), keep(2, *t)), x)));
    }
    plan.sort_by_key(|(pos, _)| *pos);

    let stores: Vec<(String, &StoreSpec)> = planned
        .iter()
        .enumerate()
        .map(|(i, s)| (id(i), s))
        .chain(others.iter().enumerate().map(|(i, s)| (format!("P{i:03}"), s)))
        .collect();
    // Sentinels: every table has a row, and NULL ids never match anything.
    let sentinel = |name: &str| StoreRow {
        id: None,
        at: (Some(14.6), Some(121.0)),
        area: Some("B1".into()),
        name: Some(name.into()),
    };
    let mut customers = vec![sentinel("no id")];
    let mut prospects = vec![sentinel("no tdlinx")];
    // First copies of every store, then second copies: a duplicate is never next to its first row.
    for copy in 0..2 {
        for (id, (c, p, _)) in &stores {
            customers.extend(c.get(copy).map(|(at, area)| StoreRow {
                id: Some(id.clone()),
                at: *at,
                area: area.clone(),
                name: None,
            }));
            prospects.extend(p.get(copy).map(|(at, area, named)| StoreRow {
                id: Some(id.clone()),
                at: *at,
                area: area.clone(),
                name: named.then(|| format!("Shop {id}.{copy}")),
            }));
        }
    }
    let mut visits = vec![
        VisitRow {
            cust: None,
            agent: Some("A1".into()),
            date: Some(0),
        },
        VisitRow {
            cust: Some("GHOST".into()),
            agent: None,
            date: None,
        },
    ];
    visits.extend(stores.iter().filter_map(|(id, (_, _, v))| {
        v.map(|(with_agent, date)| VisitRow {
            cust: Some(id.clone()),
            agent: with_agent.then(|| "A9".into()),
            date: (date < 2).then_some(date),
        })
    }));
    let mut distributors = vec![DistributorRow {
        id: None,
        at: (Some(14.0), Some(121.5)),
    }];
    for copy in 0..2 {
        for (d, rows) in depots.iter().enumerate() {
            distributors.extend(rows.get(copy).map(|at| DistributorRow {
                id: Some(DISTRIBUTORS[d].into()),
                at: *at,
            }));
        }
    }
    Spec {
        plan: plan.into_iter().map(|(_, r)| r).collect(),
        customers,
        prospects,
        visits,
        distributors,
        opts,
    }
}
