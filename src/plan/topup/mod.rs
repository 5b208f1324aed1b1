//! Prospect top-up (contract rule 4): the greedy allocation of eligible prospects to short routes.
//!
//! The contract defines the result as one pass over all (route, prospect) pairs of a stage in order of
//! increasing distance to the route centroid (ties: route, then prospect), where a full route or an
//! already given prospect skips the pair. Materialising every pair would be quadratic at national
//! scale (thousands of prospects lie within 5 km of a city route), so this module produces the same
//! result lazily and in parallel:
//!
//! - each stage is split into independent regions of routes that can compete for a prospect
//!   ([`region`]), which run side by side on all cores and whose results are merged in the global order;
//! - inside a region, each route keeps a short list of its nearest free candidates, and a heap merges
//!   the lists in global order; a list that runs out is rebuilt from the free prospects only
//!   ([`index`]), so a route in a contested neighbourhood pays for what it keeps, not for what the
//!   others took.
//!
//! Stage 1 draws candidates from the route's barangays, stage 2 from grid cells within the radius.
//! Inputs are indexed so that plain integer order is the contract's tie order: routes by route key,
//! prospects by `tdlinx`.

mod index;
mod region;

use std::cmp::Ordering;
use std::sync::Mutex;

// hashbrown's default hasher, as DataFusion uses it: the grid is hashed once per prospect.
use datafusion::common::HashMap;

use self::index::{Bounds, Centre};
use self::region::{Candidates, Link, Region, StageInputs};

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

/// Runs both stages and returns the assignments in the order the contract's pass makes them. Regions
/// run on `threads` threads; the result does not depend on `threads`.
pub fn allocate(
    routes: &[ShortRoute],
    prospects: &[Prospect],
    radius_km: f64,
    threads: usize,
) -> Vec<Assignment> {
    let mut state = State {
        need: routes.iter().map(|r| r.need).collect(),
        given: vec![false; prospects.len()],
        out: Vec::new(),
    };
    let barangays = barangay_candidates(routes, prospects, &state.need);
    state.run_stage(
        routes,
        &barangays,
        prospects,
        Stage::Barangay,
        f64::INFINITY,
        threads,
    );

    if radius_km > 0.0 && radius_km.is_finite() {
        let nearby = radius_candidates(routes, prospects, &state.need, &state.given, radius_km);
        state.run_stage(routes, &nearby, prospects, Stage::Radius, radius_km, threads);
    }
    state.out
}

/// What the stages have done so far.
struct State {
    /// What each route may still take.
    need: Vec<usize>,
    given: Vec<bool>,
    out: Vec<Assignment>,
}

/// Stage 1's buckets are the barangay codes: each short route with the codes it draws from, and the
/// prospects of each code.
fn barangay_candidates(routes: &[ShortRoute], prospects: &[Prospect], need: &[usize]) -> Candidates {
    let codes = routes
        .iter()
        .flat_map(|r| r.barangays.iter())
        .chain(prospects.iter().filter_map(|p| p.barangay.as_ref()))
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let mut members = vec![Vec::new(); codes];
    for (p, q) in prospects.iter().enumerate() {
        if let Some(code) = q.barangay {
            members[code as usize].push(p as u32);
        }
    }
    let links = routes
        .iter()
        .enumerate()
        .filter(|&(r, _)| need[r] > 0)
        .filter_map(|(r, route)| {
            let mut buckets: Vec<u32> = route
                .barangays
                .iter()
                .copied()
                .filter(|&c| !members[c as usize].is_empty())
                .collect();
            // A code listed twice would offer its prospects twice.
            buckets.sort_unstable();
            buckets.dedup();
            (!buckets.is_empty()).then_some(Link {
                route: r as u32,
                buckets,
            })
        })
        .collect();
    Candidates {
        links,
        bounds: boxes(&members, prospects),
        members,
    }
}

/// Each bucket's box, for both the candidates' lower bounds and every region's index.
fn boxes(members: &[Vec<u32>], prospects: &[Prospect]) -> Vec<Bounds> {
    members
        .iter()
        .map(|ps| {
            Bounds::of(
                ps.iter()
                    .map(|&p| (prospects[p as usize].lat, prospects[p as usize].lon)),
            )
        })
        .collect()
}

/// Stage 2's buckets are grid cells of the prospects still free (see [`Grid`]): each short route with
/// a centroid and the cells that may hold a prospect within the radius.
fn radius_candidates(
    routes: &[ShortRoute],
    prospects: &[Prospect],
    need: &[usize],
    given: &[bool],
    radius_km: f64,
) -> Candidates {
    let active: Vec<(u32, (f64, f64))> = routes
        .iter()
        .enumerate()
        .filter(|&(r, _)| need[r] > 0)
        .filter_map(|(r, route)| route.centroid.map(|c| (r as u32, c)))
        .collect();
    let free: Vec<u32> = (0..prospects.len() as u32)
        .filter(|&p| !given[p as usize])
        .collect();
    if active.is_empty() || free.is_empty() {
        return Candidates {
            links: Vec::new(),
            members: Vec::new(),
            bounds: Vec::new(),
        };
    }
    let widest_lat = active
        .iter()
        .map(|&(_, (lat, _))| lat.abs())
        .chain(free.iter().map(|&p| prospects[p as usize].lat.abs()))
        .fold(0.0, f64::max)
        .min(89.0);
    // Cells a third of the radius wide, or finer where prospects are dense: a route's list is built
    // from whole cells, so a cell should hold a few dozen prospects, not the thousand or more of a
    // dense metropolis. No finer than a twelfth of the radius, which bounds a route's cells.
    let mut grid = Grid::new(prospects, &free, radius_km / 3.0, widest_lat);
    for divisions in [6.0, 12.0] {
        if free.len() <= CELL_PROSPECTS * grid.members.len() {
            break;
        }
        grid = Grid::new(prospects, &free, radius_km / divisions, widest_lat);
    }
    // A point within the radius is at most `reach` cells away in either direction (the 2% covers the
    // haversine's shortfall against the flat arc, under 0.2% at these spans).
    let reach = (radius_km * 1.02 / grid.cell_km).ceil() as i64 + 1;

    let bounds = boxes(&grid.members, prospects);
    let links = active
        .into_iter()
        .filter_map(|(r, (lat, lon))| {
            let centre = Centre::new(lat, lon);
            let (row, col) = grid.key(lat, lon);
            let mut buckets = Vec::new();
            for dr in -reach..=reach {
                for dc in -reach..=reach {
                    if let Some(&b) = grid.cell_of.get(&(row + dr, col + dc))
                        && bounds[b as usize].min_km(&centre) <= radius_km
                    {
                        buckets.push(b);
                    }
                }
            }
            buckets.sort_unstable();
            (!buckets.is_empty()).then_some(Link { route: r, buckets })
        })
        .collect();
    Candidates {
        links,
        members: grid.members,
        bounds,
    }
}

/// How many prospects a grid cell of the radius stage should hold at most, on average.
const CELL_PROSPECTS: usize = 64;

/// The free prospects by grid cell. A cell spans `cell_km` of latitude and at least `cell_km` of
/// longitude at the highest latitude present.
struct Grid {
    cell_km: f64,
    cell_lat: f64,
    cell_lon: f64,
    cell_of: HashMap<(i64, i64), u32>,
    members: Vec<Vec<u32>>,
}

impl Grid {
    fn new(prospects: &[Prospect], free: &[u32], cell_km: f64, widest_lat: f64) -> Self {
        let km_per_deg = crate::plan::tsp::EARTH_RADIUS_KM.to_radians();
        let mut grid = Grid {
            cell_km,
            cell_lat: cell_km / km_per_deg,
            cell_lon: cell_km / (km_per_deg * widest_lat.to_radians().cos()),
            cell_of: HashMap::new(),
            members: Vec::new(),
        };
        for &p in free {
            let q = &prospects[p as usize];
            let next = grid.members.len() as u32;
            let b = *grid.cell_of.entry(grid.key(q.lat, q.lon)).or_insert(next);
            if b == next {
                grid.members.push(Vec::new());
            }
            grid.members[b as usize].push(p);
        }
        grid
    }

    fn key(&self, lat: f64, lon: f64) -> (i64, i64) {
        (
            (lat / self.cell_lat).floor() as i64,
            (lon / self.cell_lon).floor() as i64,
        )
    }
}

impl State {
    /// Runs one stage's regions on `threads` threads, largest first, and merges what they gave into the
    /// country-wide pass's order: pairs with a distance by (distance, route, prospect), then pairs without
    /// one by (route, prospect).
    fn run_stage(
        &mut self,
        routes: &[ShortRoute],
        candidates: &Candidates,
        prospects: &[Prospect],
        stage: Stage,
        limit_km: f64,
        threads: usize,
    ) {
        let started = std::time::Instant::now();
        let mut regions = region::split(candidates);
        // Ascending, so that workers pop the largest region first.
        regions.sort_by_key(Region::size);
        let (n_regions, n_routes) = (regions.len(), regions.iter().map(Region::routes).sum::<usize>());
        let largest = regions.last().map_or(0, Region::routes);
        let workers = threads.clamp(1, regions.len().max(1));
        let queue = Mutex::new(regions);
        let inputs = StageInputs {
            routes,
            need: &self.need,
            candidates,
            prospects,
            stage,
            limit_km,
        };
        let outcomes: Vec<region::Outcome> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            // Popped in a statement of its own: the lock is released before the run.
                            let region = queue.lock().expect("region queue").pop();
                            let Some(region) = region else { break };
                            done.push(region::run(region, &inputs));
                        }
                        done
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("top-up worker panicked"))
                .collect()
        });
        let rebuilds: usize = outcomes.iter().map(|o| o.rebuilds).sum();
        let mut made: Vec<Assignment> = outcomes.into_iter().flat_map(|o| o.given).collect();
        made.sort_unstable_by(|a, b| match (a.distance_km, b.distance_km) {
            (Some(x), Some(y)) => x
                .total_cmp(&y)
                .then(a.route.cmp(&b.route))
                .then(a.prospect.cmp(&b.prospect)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.route.cmp(&b.route).then(a.prospect.cmp(&b.prospect)),
        });
        for a in &made {
            self.need[a.route] -= 1;
            self.given[a.prospect] = true;
        }
        // Where the top-up's time goes, for RUST_LOG=routeflow=debug.
        tracing::debug!(
            stage = stage.as_str(),
            routes = n_routes,
            regions = n_regions,
            largest_region_routes = largest,
            seconds = started.elapsed().as_secs_f64(),
            given = made.len(),
            rebuilds,
            "top-up stage"
        );
        self.out.extend(made);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::geo::haversine_km;

    /// The contract's definition, literally: every pair of the stage, sorted, one pass. Returns the
    /// pairs taken in the order the pass takes them.
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
        out
    }

    /// `n` prospects uniform over a square of `span` degrees from (14.5, 121.0), each in one of `codes`
    /// barangays with probability `coded`.
    fn in_square(seed: &mut u64, n: usize, span: f64, coded: f64, codes: u32) -> Vec<Prospect> {
        (0..n)
            .map(|_| Prospect {
                lat: 14.5 + rng(seed) * span,
                lon: 121.0 + rng(seed) * span,
                barangay: (rng(seed) < coded).then(|| (rng(seed) * f64::from(codes)) as u32),
            })
            .collect()
    }

    /// What `allocate` gives, in its order.
    fn allocated(
        routes: &[ShortRoute],
        prospects: &[Prospect],
        radius: f64,
        threads: usize,
    ) -> Vec<(usize, usize, Stage)> {
        allocate(routes, prospects, radius, threads)
            .into_iter()
            .map(|a| (a.route, a.prospect, a.stage))
            .collect()
    }

    /// A xorshift generator: the same instances on every platform, no dependency.
    pub(super) fn rng(seed: &mut u64) -> f64 {
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
            let prospects = in_square(&mut seed, n_prospects, 0.2, 0.9, 8);
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
            let got = allocated(&routes, &prospects, radius, 1 + round % 3);
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
            let prospects = in_square(&mut seed, 400, 0.05, 1.0, 3);
            let routes: Vec<ShortRoute> = (0..40)
                .map(|_| ShortRoute {
                    centroid: Some((14.52 + rng(&mut seed) * 0.01, 121.02 + rng(&mut seed) * 0.01)),
                    need: 1 + (rng(&mut seed) * 6.0) as usize,
                    barangays: vec![(rng(&mut seed) * 3.0) as u32],
                })
                .collect();
            let got = allocated(&routes, &prospects, 3.0, 1 + round % 2);
            assert_eq!(got, reference(&routes, &prospects, 3.0), "round {round}");
        }
    }

    /// A scarce month: several towns (independent regions) whose routes together need more than
    /// the prospects they share, barangays shared by many routes, coordinates on a coarse lattice
    /// so that equal distances (ties by route, then prospect) are common, repeated centroids, routes
    /// without a centroid, and prospects outside every barangay that only the radius stage reaches.
    fn scarce_instance(seed: &mut u64) -> (Vec<ShortRoute>, Vec<Prospect>, f64) {
        let towns = 1 + (rng(seed) * 4.0) as usize;
        // Towns 0.5 degrees apart: farther than any radius used, so they never compete.
        let town = |t: usize| (9.0 + 0.5 * t as f64, 122.0 + 0.5 * t as f64);
        let lattice = |v: f64| (v * 400.0).round() / 400.0;
        let mut prospects = Vec::new();
        let mut routes = Vec::new();
        for t in 0..towns {
            let (lat0, lon0) = town(t);
            let codes = 3 * t as u32;
            for _ in 0..(rng(seed) * 120.0) as usize {
                prospects.push(Prospect {
                    lat: lattice(lat0 + rng(seed) * 0.06),
                    lon: lattice(lon0 + rng(seed) * 0.06),
                    barangay: (rng(seed) < 0.7).then(|| codes + (rng(seed) * 3.0) as u32),
                });
            }
            let mut last = None;
            for _ in 0..(rng(seed) * 25.0) as usize {
                let centroid = if rng(seed) < 0.2 && last.is_some() {
                    last
                } else if rng(seed) < 0.9 {
                    Some((lattice(lat0 + rng(seed) * 0.06), lattice(lon0 + rng(seed) * 0.06)))
                } else {
                    None
                };
                last = centroid.or(last);
                routes.push(ShortRoute {
                    centroid,
                    need: 1 + (rng(seed) * 30.0) as usize,
                    barangays: (0..(rng(seed) * 3.0) as u32)
                        .map(|_| codes + (rng(seed) * 3.0) as u32)
                        .collect(),
                });
            }
        }
        // Shuffle, so that a region's routes and prospects are not contiguous in the global order.
        for i in (1..prospects.len()).rev() {
            prospects.swap(i, (rng(seed) * (i + 1) as f64) as usize);
        }
        for i in (1..routes.len()).rev() {
            routes.swap(i, (rng(seed) * (i + 1) as f64) as usize);
        }
        (routes, prospects, 1.0 + rng(seed) * 4.0)
    }

    #[test]
    fn scarce_instances_across_independent_towns_match_the_literal_definition() {
        let mut seed = 0xD1B54A32D192ED03u64;
        let (mut short_after, mut radius_given) = (0, 0);
        for round in 0..150 {
            let (routes, prospects, radius) = scarce_instance(&mut seed);
            let want = reference(&routes, &prospects, radius);
            let demand: usize = routes.iter().map(|r| r.need).sum();
            assert!(want.len() <= demand);
            short_after += usize::from(want.len() < demand);
            radius_given += want.iter().filter(|a| a.2 == Stage::Radius).count();
            for threads in [1, 2, 4] {
                assert_eq!(
                    allocated(&routes, &prospects, radius, threads),
                    want,
                    "round {round}, {threads} threads"
                );
            }
        }
        // The instances are what they claim to be: supply below demand, radius stage at work.
        assert!(
            short_after > 100,
            "only {short_after} of 150 instances left routes short"
        );
        assert!(
            radius_given > 1000,
            "the radius stage gave only {radius_given} prospects"
        );
    }

    /// Prospects so dense that the radius stage's grid is refined below a third of the radius, with
    /// routes short enough that they reach past their barangays.
    #[test]
    fn dense_prospects_on_a_refined_grid_match_the_literal_definition() {
        let mut seed = 0x8CB92BA72F3D8DD7u64;
        for round in 0..6 {
            let prospects = in_square(&mut seed, 6000, 0.02, 0.05, 4);
            let routes: Vec<ShortRoute> = (0..60)
                .map(|_| ShortRoute {
                    centroid: Some((14.51 + rng(&mut seed) * 0.01, 121.01 + rng(&mut seed) * 0.01)),
                    need: 10 + (rng(&mut seed) * 40.0) as usize,
                    barangays: vec![(rng(&mut seed) * 4.0) as u32],
                })
                .collect();
            let radius = 0.8 + rng(&mut seed);
            let want = reference(&routes, &prospects, radius);
            assert!(want.iter().filter(|a| a.2 == Stage::Radius).count() > 500);
            assert_eq!(allocated(&routes, &prospects, radius, 2), want, "round {round}");
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
