//! What the contract (shared/docs/route-plan.md) says about a generated input, recomputed here from
//! the tables alone, without any of routeflow's code: which stops have coordinates, each route's
//! stops, centroid, barangays and depot, and which prospects a route may be given.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::tables::{DATES, Opts, Pair, PlanRow, Spec, StoreRow};

/// (DistributorID, AgentID, RouteDate as text).
pub type RouteKey = (String, String, String);

/// Contract rule 2, written out again: both present, finite, non-zero, inside the box (inclusive).
pub fn valid(at: Pair) -> Option<(f64, f64)> {
    let (Some(lat), Some(lon)) = at else {
        return None;
    };
    let ok = lat.is_finite()
        && lon.is_finite()
        && lat != 0.0
        && lon != 0.0
        && (4.0..=21.5).contains(&lat)
        && (116.0..=127.0).contains(&lon);
    ok.then_some((lat, lon))
}

/// Textbook haversine, Earth radius 6371 km.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dp = p2 - p1;
    let dl = (b.1 - a.1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Rule 4: codes compare trimmed; a blank code never matches.
fn code(area: &Option<String>) -> Option<String> {
    area.as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// The key of a plan row when it is routed (rule 1: no NULL among the keys and CustNo).
pub fn route_key(r: &PlanRow) -> Option<(RouteKey, &str)> {
    Some((
        (r.dist.clone()?, r.agent.clone()?, DATES[r.date?].0.to_string()),
        r.cust.as_deref()?,
    ))
}

fn first_by_id(rows: &[StoreRow]) -> HashMap<&str, &StoreRow> {
    let mut first = HashMap::new();
    for r in rows {
        if let Some(id) = r.id.as_deref() {
            first.entry(id).or_insert(r);
        }
    }
    first
}

pub struct Model<'a> {
    pub opts: Opts,
    customer: HashMap<&'a str, &'a StoreRow>,
    prospect: HashMap<&'a str, &'a StoreRow>,
    visited: HashSet<&'a str>,
    depots: HashMap<&'a str, Pair>,
    /// Every routed CustNo of the input plan.
    planned: HashSet<&'a str>,
    /// Each route's distinct CustNo.
    pub routes: BTreeMap<RouteKey, BTreeSet<&'a str>>,
}

impl<'a> Model<'a> {
    pub fn new(spec: &'a Spec) -> Self {
        let mut depots = HashMap::new();
        for d in &spec.distributors {
            if let Some(id) = d.id.as_deref() {
                depots.entry(id).or_insert(d.at);
            }
        }
        let mut routes: BTreeMap<RouteKey, BTreeSet<&str>> = BTreeMap::new();
        for (key, cust) in spec.plan.iter().filter_map(route_key) {
            routes.entry(key).or_default().insert(cust);
        }
        Self {
            opts: spec.opts,
            customer: first_by_id(&spec.customers),
            prospect: first_by_id(&spec.prospects),
            visited: spec.visits.iter().filter_map(|v| v.cust.as_deref()).collect(),
            depots,
            planned: routes.values().flatten().copied().collect(),
            routes,
        }
    }

    /// Rule 2: a customer's first row decides; a store that is not a customer takes its prospect
    /// row's coordinates.
    pub fn coords(&self, cust: &str) -> Option<(f64, f64)> {
        match (self.customer.get(cust), self.prospect.get(cust)) {
            (Some(c), _) => valid(c.at),
            (None, Some(p)) => valid(p.at),
            (None, None) => None,
        }
    }

    /// Rule 3.
    pub fn custype(&self, cust: &str) -> &'static str {
        if self.customer.contains_key(cust) {
            "customer"
        } else if self.prospect.contains_key(cust) {
            "prospect"
        } else {
            "unknown"
        }
    }

    /// Rule 6 (no --start override in these runs): the distributor's first row when valid, else
    /// Manila.
    pub fn depot(&self, dist: &str) -> (f64, f64) {
        self.depots
            .get(dist)
            .and_then(|&at| valid(at))
            .unwrap_or((14.5995, 120.9842))
    }

    /// Rule 4: how many prospects the route may take.
    pub fn need(&self, route: &RouteKey) -> usize {
        (self.opts.target_stops as usize).saturating_sub(self.routes[route].len())
    }

    /// Rule 4: mean of the route's distinct customer stops with valid coordinates.
    pub fn centroid(&self, route: &RouteKey) -> Option<(f64, f64)> {
        let points: Vec<(f64, f64)> = self.routes[route]
            .iter()
            .filter(|c| self.customer.contains_key(*c))
            .filter_map(|c| self.coords(c))
            .collect();
        let n = points.len() as f64;
        (!points.is_empty()).then(|| {
            let (a, b) = points.iter().fold((0.0, 0.0), |s, p| (s.0 + p.0, s.1 + p.1));
            (a / n, b / n)
        })
    }

    /// Why `tdlinx` may not be given to `route` (rule 4), or `None` when it may: it must be a
    /// prospect with valid coordinates, not planned, never visited, not a customer, and share a
    /// barangay with one of the route's customers or lie within the radius (widened by `slack_km`) of
    /// the route's centroid.
    pub fn ineligible(&self, route: &RouteKey, tdlinx: &str, slack_km: f64) -> Option<String> {
        let Some(p) = self.prospect.get(tdlinx) else {
            return Some("not a prospect".into());
        };
        let Some(at) = valid(p.at) else {
            return Some(format!("no valid coordinates {:?}", p.at));
        };
        for (taken, why) in [
            (self.planned.contains(tdlinx), "already planned"),
            (self.visited.contains(tdlinx), "visited"),
            (self.customer.contains_key(tdlinx), "a customer"),
        ] {
            if taken {
                return Some(why.into());
            }
        }
        let barangay = code(&p.area).is_some_and(|b| {
            self.routes[route]
                .iter()
                .filter_map(|c| self.customer.get(c))
                .any(|c| code(&c.area).as_ref() == Some(&b))
        });
        let centroid = self.centroid(route);
        let km = centroid.map(|c| haversine_km(c, at));
        let near = km.is_some_and(|km| km <= self.opts.radius_km + slack_km);
        (!barangay && !near).then(|| {
            format!(
                "barangay {:?} is none of the route's customers' and it is {km:?} km from the centroid {centroid:?}",
                p.area
            )
        })
    }

    pub fn eligible(&self, route: &RouteKey, tdlinx: &str, slack_km: f64) -> bool {
        self.ineligible(route, tdlinx, slack_km).is_none()
    }

    /// Every prospect id (the only stores the top-up may add).
    pub fn prospect_ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.prospect.keys().copied()
    }

    /// Name an added row carries (rule 5): the prospect's first row.
    pub fn prospect_name(&self, tdlinx: &str) -> Option<&'a str> {
        self.prospect.get(tdlinx).and_then(|p| p.name.as_deref())
    }
}
