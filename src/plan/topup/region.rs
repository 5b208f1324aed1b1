//! One stage of the top-up split into independent regions, and the greedy pass over one region.
//!
//! Two routes compete only through a prospect both could take. Routes linked that way, directly or
//! through others, form a region; no prospect is a candidate of two regions, so each region's
//! greedy pass gives exactly the pairs the country-wide pass would give there, and regions run side
//! by side on all cores. (Routes in different provinces never compete; a metropolis is one region.)
//!
//! Inside a region, routes and prospects are renumbered in their global order, so plain integer order
//! is still the contract's tie order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use super::index::{Bounds, Buckets, Centre, Nearest, Scratch};
use super::{Assignment, Prospect, ShortRoute, Stage};
use crate::plan::tsp::GeoPoint;

/// Routes that can compete, and the buckets of every prospect they can take (global indices).
#[derive(Default)]
pub(super) struct Region {
    /// Ascending.
    routes: Vec<u32>,
    /// Each route's buckets.
    route_buckets: Vec<Vec<u32>>,
    /// Ascending.
    buckets: Vec<u32>,
    /// How many prospects the buckets hold.
    prospects: usize,
}

impl Region {
    /// A measure of the region's work, to hand out the largest regions first.
    pub(super) fn size(&self) -> usize {
        self.routes.len() + self.prospects
    }

    pub(super) fn routes(&self) -> usize {
        self.routes.len()
    }
}

/// A short route and the buckets (global indices) it draws its candidates from.
pub(super) struct Link {
    pub route: u32,
    pub buckets: Vec<u32>,
}

/// One stage's candidates: each short route's buckets, and each bucket's prospects and their box.
pub(super) struct Candidates {
    /// In ascending route order.
    pub links: Vec<Link>,
    pub members: Vec<Vec<u32>>,
    pub bounds: Vec<Bounds>,
}

/// Groups the stage's routes into regions: connected components of routes and buckets.
pub(super) fn split(candidates: &Candidates) -> Vec<Region> {
    let Candidates { links, members, .. } = candidates;
    let mut sets = DisjointSets::new(members.len());
    for Link { buckets, .. } in links {
        for pair in buckets.windows(2) {
            sets.union(pair[0], pair[1]);
        }
    }
    // Region numbers in order of first appearance; routes arrive in ascending order.
    let mut region_of_root = vec![u32::MAX; members.len()];
    let mut regions: Vec<Region> = Vec::new();
    for Link { route, buckets } in links {
        let Some(&first) = buckets.first() else {
            continue;
        };
        let root = sets.find(first) as usize;
        if region_of_root[root] == u32::MAX {
            region_of_root[root] = regions.len() as u32;
            regions.push(Default::default());
        }
        let region = &mut regions[region_of_root[root] as usize];
        region.routes.push(*route);
        region.route_buckets.push(buckets.clone());
    }
    for (b, ps) in members.iter().enumerate() {
        let root = sets.find(b as u32) as usize;
        if region_of_root[root] != u32::MAX {
            let region = &mut regions[region_of_root[root] as usize];
            region.buckets.push(b as u32);
            region.prospects += ps.len();
        }
    }
    regions
}

/// A region in its own numbering, ready for the greedy pass.
struct Local {
    /// Global prospect indices, ascending: local prospect `i` is `prospects[i]`.
    prospects: Vec<u32>,
    points: Vec<GeoPoint>,
    /// Each route's buckets, as local bucket indices.
    route_buckets: Vec<Vec<u32>>,
    buckets: Buckets,
}

impl Local {
    /// Renumbers `region`'s prospects and buckets in their global order (which keeps the ties'
    /// order), on the worker that runs it.
    fn new(region: &mut Region, candidates: &Candidates, all: &[Prospect]) -> Self {
        let members = &candidates.members;
        let mut prospects: Vec<u32> = region
            .buckets
            .iter()
            .flat_map(|&b| members[b as usize].iter().copied())
            .collect();
        prospects.sort_unstable();
        let local = |global: u32| prospects.binary_search(&global).expect("prospect of the region") as u32;
        let local_members: Vec<Vec<u32>> = region
            .buckets
            .iter()
            .map(|&b| members[b as usize].iter().map(|&p| local(p)).collect())
            .collect();
        let mut route_buckets = std::mem::take(&mut region.route_buckets);
        for list in &mut route_buckets {
            for b in list.iter_mut() {
                *b = region.buckets.binary_search(b).expect("bucket of the region") as u32;
            }
        }
        let bounds = region
            .buckets
            .iter()
            .map(|&b| candidates.bounds[b as usize])
            .collect();
        Self {
            points: prospects
                .iter()
                .map(|&p| GeoPoint::new(all[p as usize].lat, all[p as usize].lon))
                .collect(),
            buckets: Buckets::new(local_members, bounds, prospects.len()),
            route_buckets,
            prospects,
        }
    }
}

/// Union-find over bucket indices, with path halving.
struct DisjointSets {
    parent: Vec<u32>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b) as usize] = a.min(b);
        }
    }
}

/// How many candidates a route's list keeps: slack beyond the need, because routes sharing a
/// neighbourhood take each other's first choices, doubled at each rebuild of the same route so a
/// route in a crowded place rebuilds a few times, not once per handful of prospects.
fn keep(need: usize, rebuilds: u32) -> usize {
    (need * 2 + 16) << rebuilds.min(20)
}

/// A route's list of candidates and how far it has been consumed.
struct Cursor {
    list: Vec<(f64, u32)>,
    pos: usize,
    rebuilds: u32,
    truncated: bool,
}

/// Heap entry: the next candidate of one route, ordered so the smallest (distance, route, prospect)
/// pops first from Rust's max-heap.
#[derive(PartialEq)]
struct Next {
    distance: f64,
    route: u32,
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

/// What every region of one stage reads.
#[derive(Clone, Copy)]
pub(super) struct StageInputs<'a> {
    pub routes: &'a [ShortRoute],
    /// What each route may still take when the stage starts.
    pub need: &'a [usize],
    pub candidates: &'a Candidates,
    pub prospects: &'a [Prospect],
    pub stage: Stage,
    /// A candidate's greatest distance (the radius; unbounded for barangays).
    pub limit_km: f64,
}

/// What one region's pass gave, in the order it gave them, with global indices.
pub(super) struct Outcome {
    pub given: Vec<Assignment>,
    pub rebuilds: usize,
}

/// The greedy pass of `stage` over one region: pairs with a distance in increasing (distance, route,
/// prospect) order, then routes without a centroid in route order, their candidates by prospect.
/// `limit_km` bounds a candidate's distance (the radius; unbounded for barangays).
pub(super) fn run(mut region: Region, stage: &StageInputs) -> Outcome {
    let local = Local::new(&mut region, stage.candidates, stage.prospects);
    let mut pass = Pass::new(region.routes, local, stage);
    let heap = pass.first_candidates();
    pass.by_distance(heap);
    pass.without_centroid();
    Outcome {
        given: pass.out,
        rebuilds: pass.rebuilds,
    }
}

/// The state of one region's greedy pass, in the region's own numbering.
struct Pass {
    /// Global route indices, ascending: local route `r` is `routes[r]`.
    routes: Vec<u32>,
    local: Local,
    /// What each route may still take.
    need: Vec<usize>,
    /// Each route's centroid; routes without one take their candidates last, by prospect.
    centres: Vec<Option<Centre>>,
    /// Prospects given, by local index.
    given: Vec<bool>,
    /// The candidate list of each route in the heap.
    cursors: Vec<Option<Cursor>>,
    scratch: Scratch,
    stage: Stage,
    limit_km: f64,
    /// What the pass gave, in order, with global indices.
    out: Vec<Assignment>,
    /// How often a route's list ran out and was built again.
    rebuilds: usize,
}

impl Pass {
    fn new(routes: Vec<u32>, local: Local, stage: &StageInputs) -> Self {
        let centres = routes
            .iter()
            .map(|&r| {
                stage.routes[r as usize]
                    .centroid
                    .map(|(lat, lon)| Centre::new(lat, lon))
            })
            .collect();
        Self {
            need: routes.iter().map(|&r| stage.need[r as usize]).collect(),
            centres,
            given: vec![false; local.prospects.len()],
            cursors: (0..routes.len()).map(|_| None).collect(),
            scratch: Scratch::default(),
            stage: stage.stage,
            limit_km: stage.limit_km,
            out: Vec::new(),
            rebuilds: 0,
            routes,
            local,
        }
    }

    /// Route `r`'s nearest free candidates, as many as [`keep`] says for its `rebuilds`-th list.
    fn open(&mut self, r: usize, rebuilds: u32) -> Cursor {
        let centre = self.centres[r]
            .as_ref()
            .expect("only routes with a centroid have a list");
        let Nearest { list, truncated } = self.local.buckets.nearest(
            &self.local.route_buckets[r],
            centre,
            self.limit_km,
            keep(self.need[r], rebuilds),
            &self.local.points,
            &mut self.scratch,
        );
        Cursor {
            list,
            pos: 0,
            rebuilds,
            truncated,
        }
    }

    /// Opens the list of every route with a centroid and a need, and heaps each one's first candidate.
    fn first_candidates(&mut self) -> BinaryHeap<Next> {
        let mut heap = BinaryHeap::new();
        for r in 0..self.routes.len() {
            if self.centres[r].is_none() || self.need[r] == 0 {
                continue;
            }
            let cursor = self.open(r, 0);
            if let Some(&(distance, prospect)) = cursor.list.first() {
                heap.push(Next {
                    distance,
                    route: r as u32,
                    prospect,
                });
                self.cursors[r] = Some(cursor);
            }
        }
        heap
    }

    /// Gives the pairs with a distance, in increasing (distance, route, prospect) order.
    ///
    /// The top is replaced in place by the same route's next candidate (one sift instead of a pop and
    /// a push); candidates given meanwhile to other routes are passed over in the route's own list.
    fn by_distance(&mut self, mut heap: BinaryHeap<Next>) {
        while let Some(mut top) = heap.peek_mut() {
            let Next {
                distance,
                route,
                prospect,
            } = *top;
            let r = route as usize;
            if !self.given[prospect as usize] {
                self.given[prospect as usize] = true;
                self.local.buckets.remove(prospect);
                self.need[r] -= 1;
                self.out.push(Assignment {
                    route: self.routes[r] as usize,
                    prospect: self.local.prospects[prospect as usize] as usize,
                    stage: self.stage,
                    distance_km: Some(distance),
                });
            }
            match self.next_candidate(r) {
                Some((distance, prospect)) => {
                    *top = Next {
                        distance,
                        route,
                        prospect,
                    }
                }
                None => {
                    PeekMut::pop(top);
                    self.cursors[r] = None;
                }
            }
        }
    }

    /// Route `r`'s next free candidate after the one just heaped, if it still needs one; a list cut
    /// short is built again from the free prospects when it runs out.
    fn next_candidate(&mut self, r: usize) -> Option<(f64, u32)> {
        if self.need[r] == 0 {
            return None;
        }
        let mut cursor = self.cursors[r].take().expect("cursor of a route in the heap");
        cursor.pos += 1;
        let next = loop {
            match cursor.list.get(cursor.pos) {
                Some(&(_, p)) if self.given[p as usize] => cursor.pos += 1,
                Some(&next) => break Some(next),
                None if cursor.truncated => {
                    cursor = self.open(r, cursor.rebuilds + 1);
                    self.rebuilds += 1;
                }
                None => break None,
            }
        };
        self.cursors[r] = Some(cursor);
        next
    }

    /// Pairs of routes without a centroid have no distance: after all others, by route then prospect.
    fn without_centroid(&mut self) {
        let mut ids = Vec::new();
        for r in 0..self.routes.len() {
            if self.centres[r].is_some() || self.need[r] == 0 {
                continue;
            }
            ids.clear();
            for &b in &self.local.route_buckets[r] {
                ids.extend_from_slice(self.local.buckets.members(b));
            }
            ids.sort_unstable();
            for &p in ids.iter().take(self.need[r]) {
                self.local.buckets.remove(p);
                self.out.push(Assignment {
                    route: self.routes[r] as usize,
                    prospect: self.local.prospects[p as usize] as usize,
                    stage: self.stage,
                    distance_km: None,
                });
            }
        }
    }
}
