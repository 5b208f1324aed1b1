//! Prospect top-up (contract rule 4): the greedy allocation of eligible prospects to short routes.
//!
//! The contract defines the result as one pass over all (route, prospect) pairs of a stage in order of
//! increasing distance to the route centroid (ties: route, then prospect), where a full route or an
//! already given prospect skips the pair. Materialising every pair would be quadratic at national
//! scale (thousands of prospects lie within 5 km of a city route), so this module produces the same
//! result lazily: each route keeps a cursor over its own candidates sorted by (distance, prospect), and a
//! heap merges the cursors in global order. A route only ever looks at the prefix of its list it needs,
//! so each cursor sorts a short prefix; when that runs out, it is rebuilt from the candidates not given
//! yet (every candidate it consumed was given, to this route or another, so none is lost).
//! Stage 1 candidates come from a barangay index, stage 2 candidates from a uniform grid whose cells
//! are at least the radius wide, so a 3×3 block of cells holds every prospect within the radius.
//!
//! Inputs are indexed so that plain integer order is the contract's tie order: routes by route key,
//! prospects by `tdlinx`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

// hashbrown's default hasher, as DataFusion uses it: the index and grid are hashed once per prospect.
use datafusion::common::HashMap;

use super::tsp::GeoPoint;

/// A route that is short of the target.
#[derive(Debug, Clone)]
pub struct ShortRoute {
    /// Mean of the route's customer stops with valid coordinates; `None` when it has none.
    pub centroid: Option<(f64, f64)>,
    /// How many prospects it may still take.
    pub need: usize,
    /// Barangay codes of its customers, as indices into the code table (trimmed, never blank).
    pub barangays: Vec<u32>,
}

/// An eligible prospect (valid coordinates, never visited, not a customer, not already planned).
#[derive(Debug, Clone)]
pub struct Prospect {
    pub lat: f64,
    pub lon: f64,
    pub barangay: Option<u32>,
}

/// Which stage gave a prospect to a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Barangay,
    Radius,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Barangay => "barangay",
            Stage::Radius => "radius",
        }
    }
}

/// One prospect given to one route.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub route: usize,
    pub prospect: usize,
    pub stage: Stage,
    /// Distance to the route centroid; `None` for a route without one.
    pub distance_km: Option<f64>,
}

/// Runs both stages and returns the assignments in the order they were made. `threads` build the
/// routes' candidate lists (the bulk of the work); the greedy pass itself is one thread, and the
/// result does not depend on `threads`.
pub fn allocate(
    routes: &[ShortRoute],
    prospects: &[Prospect],
    radius_km: f64,
    threads: usize,
) -> Vec<Assignment> {
    // Every distance is from a centroid to a prospect: prepare each prospect once.
    let points: Vec<GeoPoint> = prospects.iter().map(|q| GeoPoint::new(q.lat, q.lon)).collect();
    let mut state = State {
        need: routes.iter().map(|r| r.need).collect(),
        given: vec![false; prospects.len()],
        out: Vec::new(),
        threads: threads.max(1),
    };
    let by_barangay = barangay_index(prospects);
    let barangay_candidates = |r: usize, out: &mut Vec<u32>| {
        let codes = &routes[r].barangays;
        for (i, code) in codes.iter().enumerate() {
            // A code listed twice would offer its prospects twice.
            if codes[..i].contains(code) {
                continue;
            }
            if let Some(ps) = by_barangay.get(code) {
                out.extend_from_slice(ps);
            }
        }
    };
    state.run_stage(routes, &points, Stage::Barangay, &barangay_candidates);
    // The grid indexes every prospect: build it only when a route still needs some.
    let still_short = routes
        .iter()
        .zip(&state.need)
        .any(|(r, &need)| need > 0 && r.centroid.is_some());
    if still_short && radius_km > 0.0 && radius_km.is_finite() {
        let grid = Grid::new(prospects, radius_km);
        let radius_candidates = |r: usize, out: &mut Vec<u32>| {
            if let Some((lat, lon)) = routes[r].centroid {
                grid.within(&points, lat, lon, radius_km, out);
            }
        };
        state.run_stage(routes, &points, Stage::Radius, &radius_candidates);
    }
    state.out
}

fn barangay_index(prospects: &[Prospect]) -> HashMap<u32, Vec<u32>> {
    let mut index: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, p) in prospects.iter().enumerate() {
        if let Some(code) = p.barangay {
            index.entry(code).or_default().push(i as u32);
        }
    }
    index
}

struct State {
    need: Vec<usize>,
    given: Vec<bool>,
    out: Vec<Assignment>,
    threads: usize,
}

/// Buffers reused from one candidate list to the next.
#[derive(Default)]
struct Scratch {
    /// The route's candidates.
    ids: Vec<u32>,
    /// Those not given yet, with their distance to the centroid.
    pairs: Vec<(f64, u32)>,
}

/// A route's candidates of one stage, sorted by (distance, prospect), materialised a prefix at a time.
struct Cursor {
    list: Vec<(f64, u32)>,
    pos: usize,
    /// How many times the list was rebuilt; each rebuild keeps twice as many candidates, so a route
    /// whose neighbourhood is crowded rebuilds a few times, not once per handful of prospects.
    rebuilds: u32,
    /// The list holds only the smallest `list.len()` candidates of more.
    truncated: bool,
}

/// Heap entry: the next candidate of one route. Ordered so the smallest (distance, route, prospect)
/// pops first from Rust's max-heap.
#[derive(PartialEq)]
struct Next {
    distance: f64,
    route: usize,
    prospect: u32,
}

impl Eq for Next {}

impl Ord for Next {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then(other.route.cmp(&self.route))
            .then(other.prospect.cmp(&self.prospect))
    }
}

impl PartialOrd for Next {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn by_distance_then_prospect(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

impl State {
    /// Takes one (route, prospect) pair in order: the prospect goes to the route unless another route
    /// already has it. The caller never offers a pair to a full route.
    fn give(&mut self, r: usize, p: usize, stage: Stage, distance_km: Option<f64>) {
        if !self.given[p] {
            self.given[p] = true;
            self.need[r] -= 1;
            self.out.push(Assignment {
                route: r,
                prospect: p,
                stage,
                distance_km,
            });
        }
    }

    /// One stage: routes with a centroid in global distance order, then routes without one in route
    /// order with their candidates by prospect.
    fn run_stage(
        &mut self,
        routes: &[ShortRoute],
        points: &[GeoPoint],
        stage: Stage,
        candidates: &(dyn Fn(usize, &mut Vec<u32>) + Sync),
    ) {
        let mut cursors: Vec<Option<Cursor>> = (0..routes.len()).map(|_| None).collect();
        let mut heap = BinaryHeap::new();
        let mut scratch = Scratch::default();
        let open: Vec<usize> = (0..routes.len())
            .filter(|&r| routes[r].centroid.is_some() && self.need[r] > 0)
            .collect();
        let started = std::time::Instant::now();
        let (given_before, mut lists_rebuilt) = (self.out.len(), 0);
        let opened = self.open_cursors(&open, routes, points, candidates);
        let lists_s = started.elapsed().as_secs_f64();
        for (r, cursor) in opened {
            if let Some(&(distance, prospect)) = cursor.list.first() {
                heap.push(Next {
                    distance,
                    route: r,
                    prospect,
                });
                cursors[r] = Some(cursor);
            }
        }
        // The heap's top is replaced in place by the same route's next candidate (one sift instead of
        // a pop and a push), and candidates given meanwhile to other routes are passed over in the
        // route's own list, never entering the heap: neither changes the order of the pairs taken.
        while let Some(mut top) = heap.peek_mut() {
            let Next {
                distance,
                route: r,
                prospect,
            } = *top;
            self.give(r, prospect as usize, stage, Some(distance));
            let next = if self.need[r] == 0 {
                None
            } else {
                let cursor = cursors[r].as_mut().expect("cursor of a route in the heap");
                cursor.pos += 1;
                loop {
                    match cursor.list.get(cursor.pos) {
                        Some(&(_, p)) if self.given[p as usize] => cursor.pos += 1,
                        Some(&next) => break Some(next),
                        None if cursor.truncated => {
                            let centroid = routes[r].centroid.expect("routes in the heap have a centroid");
                            let rebuilds = cursor.rebuilds + 1;
                            *cursor =
                                self.open_cursor(r, centroid, points, candidates, &mut scratch, rebuilds);
                            lists_rebuilt += 1;
                        }
                        None => break None,
                    }
                }
            };
            match next {
                Some((distance, prospect)) => {
                    *top = Next {
                        distance,
                        route: r,
                        prospect,
                    }
                }
                None => {
                    PeekMut::pop(top);
                    cursors[r] = None;
                }
            }
        }
        // Pairs of routes without a centroid have no distance: after all others, by route then prospect.
        for (r, route) in routes.iter().enumerate() {
            if route.centroid.is_some() || self.need[r] == 0 {
                continue;
            }
            let ids = &mut scratch.ids;
            ids.clear();
            candidates(r, ids);
            ids.sort_unstable();
            ids.dedup();
            for &p in ids.iter() {
                if self.need[r] == 0 {
                    break;
                }
                self.give(r, p as usize, stage, None);
            }
        }
        // Where the top-up's time goes, for RUST_LOG=routeflow=debug.
        tracing::debug!(
            stage = stage.as_str(),
            routes = open.len(),
            lists_s,
            seconds = started.elapsed().as_secs_f64(),
            given = self.out.len() - given_before,
            rebuilds = lists_rebuilt,
            "top-up stage"
        );
    }

    /// The first cursor of each route of `open` (which all have a centroid), built on `self.threads`
    /// threads over contiguous chunks, returned in `open`'s order.
    fn open_cursors(
        &self,
        open: &[usize],
        routes: &[ShortRoute],
        points: &[GeoPoint],
        candidates: &(dyn Fn(usize, &mut Vec<u32>) + Sync),
    ) -> Vec<(usize, Cursor)> {
        let chunk = open.len().div_ceil(self.threads).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = open
                .chunks(chunk)
                .map(|rs| {
                    scope.spawn(move || {
                        let mut scratch = Scratch::default();
                        rs.iter()
                            .map(|&r| {
                                let centroid = routes[r].centroid.expect("only routes with a centroid");
                                (
                                    r,
                                    self.open_cursor(r, centroid, points, candidates, &mut scratch, 0),
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("cursor worker panicked"))
                .collect()
        })
    }

    /// Builds a cursor over route `r`'s candidates not given yet: the smallest few by (distance,
    /// prospect), sorted, and whether more exist.
    fn open_cursor(
        &self,
        r: usize,
        centroid: (f64, f64),
        points: &[GeoPoint],
        candidates: &(dyn Fn(usize, &mut Vec<u32>) + Sync),
        scratch: &mut Scratch,
        rebuilds: u32,
    ) -> Cursor {
        let centroid = GeoPoint::new(centroid.0, centroid.1);
        let Scratch { ids, pairs } = scratch;
        ids.clear();
        // No prospect comes twice: a route's barangay codes are distinct and a prospect has one, and
        // grid cells are disjoint. The list is ordered by (distance, prospect) below.
        candidates(r, ids);
        pairs.clear();
        pairs.extend(
            ids.iter()
                .filter(|&&p| !self.given[p as usize])
                .map(|&p| (centroid.km_to(&points[p as usize]), p)),
        );
        // Prospects given after this point are skipped lazily by the caller, so keep slack beyond the
        // need: an agent's days share barangays, so siblings take most of a route's first choices.
        // Rebuilds run on the one thread of the greedy pass while the first lists are built in
        // parallel, so the slack is generous: at national scale, twice the need rebuilt 8,342 lists
        // and six times 1,117, halving the serial pass (0.6 to 0.3 s) for about 30 MB of lists.
        let keep = (self.need[r] * 6 + 48) << rebuilds.min(16);
        let truncated = pairs.len() > keep;
        if truncated {
            pairs.select_nth_unstable_by(keep, by_distance_then_prospect);
            pairs.truncate(keep);
        }
        // A list of its own, sized to what it keeps: the candidates (about a thousand per national
        // route) are gathered in the reused buffer, and a list collected there directly kept that
        // capacity, over 300 MB across the routes' lists at the top-up's memory peak.
        let mut list = pairs.to_vec();
        list.sort_unstable_by(by_distance_then_prospect);
        Cursor {
            list,
            pos: 0,
            rebuilds,
            truncated,
        }
    }
}

/// Uniform grid over prospects with cells at least `radius_km` wide in both directions.
struct Grid {
    cell_lat: f64,
    cell_lon: f64,
    cells: HashMap<(i32, i32), Vec<u32>>,
}

impl Grid {
    fn new(prospects: &[Prospect], radius_km: f64) -> Self {
        // One degree of latitude is 111.19 km; a degree of longitude is at least 0.92 of that inside
        // the service box (|lat| <= 21.5), and the haversine distance is never shorter than those arcs.
        let cell_lat = radius_km / 110.0;
        let cell_lon = radius_km / 100.0;
        let mut cells: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, p) in prospects.iter().enumerate() {
            cells
                .entry(Self::key(p.lat, p.lon, cell_lat, cell_lon))
                .or_default()
                .push(i as u32);
        }
        Self {
            cell_lat,
            cell_lon,
            cells,
        }
    }

    fn key(lat: f64, lon: f64, cell_lat: f64, cell_lon: f64) -> (i32, i32) {
        ((lat / cell_lat).floor() as i32, (lon / cell_lon).floor() as i32)
    }

    /// Prospects within `radius_km` of (lat, lon).
    fn within(&self, points: &[GeoPoint], lat: f64, lon: f64, radius_km: f64, out: &mut Vec<u32>) {
        let (row, col) = Self::key(lat, lon, self.cell_lat, self.cell_lon);
        let centre = GeoPoint::new(lat, lon);
        for dr in -1..=1 {
            for dc in -1..=1 {
                if let Some(ps) = self.cells.get(&(row + dr, col + dc)) {
                    out.extend(
                        ps.iter()
                            .copied()
                            .filter(|&p| centre.km_to(&points[p as usize]) <= radius_km),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::geo::haversine_km;

    /// The contract's definition, literally: every pair of the stage, sorted, one pass.
    fn reference(
        routes: &[ShortRoute],
        prospects: &[Prospect],
        radius_km: f64,
    ) -> Vec<(usize, usize, Stage)> {
        let mut need: Vec<usize> = routes.iter().map(|r| r.need).collect();
        let mut given = vec![false; prospects.len()];
        let mut out = Vec::new();
        for stage in [Stage::Barangay, Stage::Radius] {
            let mut pairs = Vec::new();
            for (r, route) in routes.iter().enumerate() {
                for (p, q) in prospects.iter().enumerate() {
                    let d = route.centroid.map(|c| haversine_km(c.0, c.1, q.lat, q.lon));
                    let ok = match stage {
                        Stage::Barangay => q.barangay.is_some_and(|b| route.barangays.contains(&b)),
                        Stage::Radius => d.is_some_and(|d| d <= radius_km),
                    };
                    if ok {
                        pairs.push((d, r, p));
                    }
                }
            }
            pairs.sort_by(|a, b| match (a.0, b.0) {
                (Some(x), Some(y)) => x.total_cmp(&y).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => a.1.cmp(&b.1).then(a.2.cmp(&b.2)),
            });
            for (_, r, p) in pairs {
                if need[r] > 0 && !given[p] {
                    need[r] -= 1;
                    given[p] = true;
                    out.push((r, p, stage));
                }
            }
        }
        out.sort_by_key(|a| (a.0, a.1));
        out
    }

    fn rng(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn matches_the_literal_definition_on_random_instances() {
        let mut seed = 0x9E3779B97F4A7C15u64;
        for round in 0..60 {
            let n_routes = 1 + (rng(&mut seed) * 12.0) as usize;
            let n_prospects = (rng(&mut seed) * 300.0) as usize;
            let prospects: Vec<Prospect> = (0..n_prospects)
                .map(|_| Prospect {
                    lat: 14.5 + rng(&mut seed) * 0.2,
                    lon: 121.0 + rng(&mut seed) * 0.2,
                    barangay: (rng(&mut seed) < 0.9).then(|| (rng(&mut seed) * 8.0) as u32),
                })
                .collect();
            let routes: Vec<ShortRoute> = (0..n_routes)
                .map(|_| ShortRoute {
                    centroid: (rng(&mut seed) < 0.85)
                        .then(|| (14.5 + rng(&mut seed) * 0.2, 121.0 + rng(&mut seed) * 0.2)),
                    need: (rng(&mut seed) * 40.0) as usize,
                    barangays: (0..(rng(&mut seed) * 3.0) as u32)
                        .map(|_| (rng(&mut seed) * 8.0) as u32)
                        .collect(),
                })
                .collect();
            let radius = 1.0 + rng(&mut seed) * 6.0;
            let mut got: Vec<_> = allocate(&routes, &prospects, radius, 1 + round % 3)
                .into_iter()
                .map(|a| (a.route, a.prospect, a.stage))
                .collect();
            got.sort_by_key(|a| (a.0, a.1));
            assert_eq!(got, reference(&routes, &prospects, radius));
        }
    }

    /// Many routes of small need over the same prospects, as an agent's days share a neighbourhood:
    /// each route's first candidate list (about twice its need) is taken by its siblings and must be
    /// rebuilt, often several times, from the prospects still free.
    #[test]
    fn crowded_routes_rebuild_their_lists_and_match_the_literal_definition() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for round in 0..20 {
            let prospects: Vec<Prospect> = (0..400)
                .map(|_| Prospect {
                    lat: 14.5 + rng(&mut seed) * 0.05,
                    lon: 121.0 + rng(&mut seed) * 0.05,
                    barangay: Some((rng(&mut seed) * 3.0) as u32),
                })
                .collect();
            let routes: Vec<ShortRoute> = (0..40)
                .map(|_| ShortRoute {
                    centroid: Some((14.52 + rng(&mut seed) * 0.01, 121.02 + rng(&mut seed) * 0.01)),
                    need: 1 + (rng(&mut seed) * 6.0) as usize,
                    barangays: vec![(rng(&mut seed) * 3.0) as u32],
                })
                .collect();
            let mut got: Vec<_> = allocate(&routes, &prospects, 3.0, 1 + round % 2)
                .into_iter()
                .map(|a| (a.route, a.prospect, a.stage))
                .collect();
            got.sort_by_key(|a| (a.0, a.1));
            assert_eq!(got, reference(&routes, &prospects, 3.0), "round {round}");
        }
    }

    #[test]
    fn contested_prospect_goes_to_nearer_route() {
        let prospects = vec![Prospect {
            lat: 14.60,
            lon: 121.00,
            barangay: None,
        }];
        let routes = vec![
            ShortRoute {
                centroid: Some((14.63, 121.0)),
                need: 1,
                barangays: vec![],
            },
            ShortRoute {
                centroid: Some((14.61, 121.0)),
                need: 1,
                barangays: vec![],
            },
        ];
        let got = allocate(&routes, &prospects, 5.0, 2);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].route, 1);
        assert_eq!(got[0].stage, Stage::Radius);
    }
}
