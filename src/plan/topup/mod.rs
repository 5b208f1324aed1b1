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
        let inputs = StageInputs {
            routes,
            need: &self.need,
            candidates,
            prospects,
            stage,
            limit_km,
        };
        let outcomes = run_regions(regions, &inputs, workers);
        let rebuilds: usize = outcomes.iter().map(|o| o.rebuilds).sum();
        let mut made: Vec<Assignment> = outcomes.into_iter().flat_map(|o| o.given).collect();
        made.sort_unstable_by(pass_order);
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

/// Runs `regions` on `workers` threads. They are sorted by ascending size and popped, so the largest
/// go first.
fn run_regions(regions: Vec<Region>, inputs: &StageInputs, workers: usize) -> Vec<region::Outcome> {
    let queue = Mutex::new(regions);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // Popped in a statement of its own: the lock is released before the run.
                        let region = queue.lock().expect("region queue").pop();
                        let Some(region) = region else { break };
                        done.push(region::run(region, inputs));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("top-up worker panicked"))
            .collect()
    })
}

/// The country-wide pass's order: pairs with a distance by (distance, route, prospect), then pairs
/// without one by (route, prospect).
fn pass_order(a: &Assignment, b: &Assignment) -> Ordering {
    match (a.distance_km, b.distance_km) {
        (Some(x), Some(y)) => x
            .total_cmp(&y)
            .then(a.route.cmp(&b.route))
            .then(a.prospect.cmp(&b.prospect)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.route.cmp(&b.route).then(a.prospect.cmp(&b.prospect)),
    }
}

#[cfg(test)]
mod tests;
