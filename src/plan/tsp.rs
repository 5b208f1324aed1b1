//! Stop sequencing for one route: an open path from a fixed depot through every stop, with no
//! return leg.
//!
//! Routes are small (usually 20-120 stops, at most a few hundred) and a nightly run sequences tens
//! of thousands of them, so the aim is a short path in well under a millisecond, not a proven
//! optimum:
//!
//! * **Nearest neighbour** reproduces the old system's order exactly (same tie rule). It is the
//!   seed-compatible output and the starting point of the local search.
//! * **2-opt** (reverse a sub-path) and **Or-opt** (move 1-3 consecutive stops elsewhere, in either
//!   orientation) are applied until neither finds an improving move. Between them they remove the
//!   crossings and stranded stops where nearest neighbour loses most, and on routes of this size
//!   they usually end within a few percent of the optimum, often on it. Heavier methods (Or-3opt,
//!   Lin-Kernighan) would add little for far more time and code.
//! * Moves are looked for from one node at a time, driven by a work queue of nodes whose
//!   surroundings changed ("don't-look bits"), so settled parts of the path are not scanned
//!   again. From a node only the nodes closer than the edge it would give up are candidates: the
//!   classic neighbour-list pruning, kept exact by scanning the whole matrix row when the
//!   precomputed list of nearest neighbours does not reach far enough (edges between clusters).
//!   The search ends when the queue runs dry. That is not quite a local optimum: a move can turn
//!   the path around nodes it did not touch, which changes which moves those nodes have, so a
//!   full extra round now and then still finds one. On 2,000 real national routes such rounds
//!   shortened the total by 0.014% and cost a quarter of the search time, so the run leaves them
//!   out; [`Sequencer::improve_to_local_optimum`] keeps them, and the tests use it to prove the
//!   move search exact.
//!
//! The distance matrix, neighbour lists and work buffers live in a reusable [`Sequencer`], so
//! sequencing many routes allocates nothing once the buffers have grown to the largest route.
//! Everything is deterministic: fixed scan orders, ties broken by index, no hashing, no randomness.
//!
//! The two moves live in `two_opt` and `or_opt`, the distance formula in `haversine`; this file
//! holds the sequencer's buffers, nearest neighbour and the work-queue search that drives the moves.

mod haversine;
mod or_opt;
#[cfg(test)]
mod tests;
mod two_opt;

use std::collections::VecDeque;

pub use self::haversine::{GeoPoint, haversine_km};

/// Mean Earth radius used by every distance in routeflow.
pub(crate) const EARTH_RADIUS_KM: f64 = 6371.0;

/// Smallest gain (km) for which a move is applied, so rounding noise can never make the search
/// cycle.
const MIN_GAIN_KM: f64 = 1e-9;

/// Precomputed nearest neighbours per node. Most searches stay inside them; a longer search
/// radius falls back to scanning the matrix row, so this affects speed only, never the result.
const NEIGHBOURS: usize = 10;

/// Reusable scratch space for sequencing routes one after another.
///
/// Internally node 0 is the depot and node `k + 1` is stop `k`; the public methods speak in stop
/// indices (0-based into the `stops` given to [`Sequencer::load`]).
#[derive(Default)]
pub struct Sequencer {
    /// Number of stops of the loaded route.
    n: usize,
    /// Number of nodes, `n + 1`: the row length of `dist`.
    dim: usize,
    /// Node coordinates prepared once, so building the matrix needs no repeated trigonometry.
    points: Vec<GeoPoint>,
    /// Distances between nodes, row-major: `dist[i * dim + j]`.
    dist: Vec<f64>,
    /// Neighbour lists per node (`k` each, nearest first, ties by index), row-major.
    neigh: Vec<usize>,
    /// Length of each neighbour list: `min(NEIGHBOURS, n)`.
    k: usize,
    /// The path under improvement, as nodes; `path[0]` is always the depot.
    path: Vec<usize>,
    /// Position of each node in `path`.
    pos: Vec<usize>,
    /// Nodes to look at again, in first-come order (the don't-look bits, as a work list).
    queue: VecDeque<usize>,
    /// Whether a node is in `queue`.
    queued: Vec<bool>,
    /// Visited marks for nearest neighbour and the permutation check.
    seen: Vec<bool>,
    /// The order given to `improve`, kept to guarantee the result is never longer.
    input: Vec<usize>,
}

impl Sequencer {
    /// An empty sequencer; its buffers grow with the largest route loaded.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one route: builds the distance matrix (node 0 = depot). The other methods work on the
    /// route loaded last; the neighbour lists are built by [`Sequencer::improve`], which alone uses
    /// them (nearest neighbour needs only the matrix).
    pub fn load(&mut self, depot: (f64, f64), stops: &[(f64, f64)]) {
        let n = stops.len();
        let dim = n + 1;
        self.n = n;
        self.dim = dim;

        self.points.clear();
        self.points.extend(
            std::iter::once(&depot)
                .chain(stops)
                .map(|&(lat, lon)| GeoPoint::new(lat, lon)),
        );

        // The formula is symmetric bit for bit, so each pair is computed once and mirrored. The
        // diagonal stays 0, which is what the formula gives too.
        self.dist.clear();
        self.dist.resize(dim * dim, 0.0);
        for i in 0..dim {
            let p = self.points[i];
            for j in i + 1..dim {
                let d = p.km_to(&self.points[j]);
                self.dist[i * dim + j] = d;
                self.dist[j * dim + i] = d;
            }
        }
    }

    /// Keeps, per node, the `k` nearest other nodes by insertion into a short sorted list: O(n k)
    /// at worst, and no allocation.
    fn build_neighbours(&mut self) {
        let dim = self.dim;
        let k = NEIGHBOURS.min(dim - 1);
        self.k = k;
        self.neigh.clear();
        self.neigh.resize(dim * k, 0);
        if k == 0 {
            return;
        }
        for i in 0..dim {
            let row = &self.dist[i * dim..(i + 1) * dim];
            // The list and its distances in local arrays: the comparisons need no loads through
            // the list, which made this a fifth of the search's time.
            let mut ids = [0usize; NEIGHBOURS];
            let mut ds = [f64::INFINITY; NEIGHBOURS];
            let mut len = 0;
            for (j, &d) in row.iter().enumerate() {
                // Scanning j upwards and moving only past strictly farther entries keeps ties in
                // index order.
                if j == i || (len == k && d >= ds[k - 1]) {
                    continue;
                }
                let mut p = if len < k {
                    len += 1;
                    len - 1
                } else {
                    k - 1
                };
                while p > 0 && d < ds[p - 1] {
                    ds[p] = ds[p - 1];
                    ids[p] = ids[p - 1];
                    p -= 1;
                }
                ds[p] = d;
                ids[p] = j;
            }
            self.neigh[i * k..(i + 1) * k].copy_from_slice(&ids[..k]);
        }
    }

    /// The old system's path: the stop nearest the depot first, then always the nearest unvisited
    /// stop, ties to the lowest stop index (strict `<` on the exact distances).
    pub fn nearest_neighbor(&mut self, order: &mut Vec<usize>) {
        order.clear();
        let dim = self.dim;
        self.seen.clear();
        self.seen.resize(dim, false);
        let mut current = 0;
        for _ in 0..self.n {
            let row = &self.dist[current * dim..(current + 1) * dim];
            // Starting from the first unvisited stop (rather than from infinity) keeps the result
            // a permutation even if a distance were NaN or infinite.
            let mut best = usize::MAX;
            let mut best_d = f64::INFINITY;
            for (j, &d) in row.iter().enumerate().skip(1) {
                if !self.seen[j] && (best == usize::MAX || d < best_d) {
                    best = j;
                    best_d = d;
                }
            }
            self.seen[best] = true;
            order.push(best - 1);
            current = best;
        }
    }

    /// Improves `order` (a permutation of the stop indices) in place with 2-opt and Or-opt until
    /// the work queue runs dry. The result is never longer than the input.
    ///
    /// # Panics
    ///
    /// If `order` is not a permutation of `0..n` for the loaded route.
    pub fn improve(&mut self, order: &mut Vec<usize>) {
        self.improve_with(order, false);
    }

    /// As [`Sequencer::improve`], then full rounds over every node until one finds nothing: the
    /// result is a proven 2-opt and Or-opt local optimum.
    ///
    /// # Panics
    ///
    /// If `order` is not a permutation of `0..n` for the loaded route.
    pub fn improve_to_local_optimum(&mut self, order: &mut Vec<usize>) {
        self.improve_with(order, true);
    }

    fn improve_with(&mut self, order: &mut Vec<usize>, prove_optimum: bool) {
        let n = self.n;
        assert_eq!(order.len(), n, "order must hold every loaded stop once");
        self.seen.clear();
        self.seen.resize(n, false);
        for &s in order.iter() {
            assert!(s < n && !self.seen[s], "order must be a permutation of 0..{n}");
            self.seen[s] = true;
        }
        if n < 2 {
            return;
        }
        self.build_neighbours();

        self.input.clear();
        self.input.extend_from_slice(order);
        self.path.clear();
        self.path.push(0);
        self.path.extend(order.iter().map(|&s| s + 1));
        self.pos.clear();
        self.pos.resize(self.dim, 0);
        for (p, &v) in self.path.iter().enumerate() {
            self.pos[v] = p;
        }
        self.queued.clear();
        self.queued.resize(self.dim, true);
        self.queue.clear();
        self.queue.extend(self.path.iter().copied());

        let gained = self.local_search(prove_optimum);

        order.clear();
        order.extend(self.path[1..].iter().map(|&v| v - 1));
        let (before, after) = (self.path_km(&self.input), self.path_km(order));
        // Catches a wrong gain formula in tests, which the check below would otherwise hide.
        debug_assert!(
            !before.is_finite() || (before - after - gained).abs() <= 1e-9 * before.max(1.0),
            "move gains do not add up: {before} - {after} != {gained}"
        );
        // Each move shortens the path by its computed gain, but the sum of many rounded gains is
        // not the rounded sum of the path; this check makes "never longer" exact.
        if after > before {
            order.clear();
            order.extend_from_slice(&self.input);
        }
    }

    /// Length in km of the open path depot -> order[0] -> ... -> order[last].
    ///
    /// # Panics
    ///
    /// If `order` holds an index that is not a stop of the loaded route.
    #[must_use]
    pub fn path_km(&self, order: &[usize]) -> f64 {
        let mut previous = 0;
        let mut total = 0.0;
        for &s in order {
            assert!(s < self.n, "stop index {s} out of range");
            let node = s + 1;
            total += self.dist[previous * self.dim + node];
            previous = node;
        }
        total
    }

    /// The neighbour list of node `v`, nearest first.
    #[inline]
    fn neighbours(&self, v: usize) -> &[usize] {
        &self.neigh[v * self.k..(v + 1) * self.k]
    }

    #[inline]
    fn d(&self, i: usize, j: usize) -> f64 {
        self.dist[i * self.dim + j]
    }

    /// Puts `v` on the work list unless it is already there.
    #[inline]
    fn touch(&mut self, v: usize) {
        if !self.queued[v] {
            self.queued[v] = true;
            self.queue.push_back(v);
        }
    }

    /// Works through the queue until it is empty. With `prove_optimum`, if that applied any move,
    /// every node is queued once more (a move can create improving moves around nodes it did not
    /// touch), until a full round finds nothing. Returns the sum of the gains applied.
    fn local_search(&mut self, prove_optimum: bool) -> f64 {
        let mut gained = 0.0;
        loop {
            let mut moved = false;
            while let Some(a) = self.queue.pop_front() {
                self.queued[a] = false;
                loop {
                    if let Some(m) = self.find_reversal(a) {
                        self.apply_reversal(&m);
                        gained += m.gain();
                    } else if let Some(m) = self.find_relocation(a) {
                        self.apply_relocation(&m);
                        gained += m.gain();
                    } else {
                        break;
                    }
                    moved = true;
                }
            }
            if !moved || !prove_optimum {
                return gained;
            }
            for p in 0..=self.n {
                self.touch(self.path[p]);
            }
        }
    }

    /// Calls `visit` for every node `c != v` with `d(v, c) < radius`, from the neighbour list
    /// when it reaches that far, else by scanning the whole row. It must not miss any node: the
    /// searches below rely on it to be exact.
    fn for_each_within(&self, v: usize, radius: f64, mut visit: impl FnMut(usize)) {
        let row = &self.dist[v * self.dim..(v + 1) * self.dim];
        let list = self.neighbours(v);
        let list_suffices = self.k == self.n || list.last().is_some_and(|&c| row[c] >= radius);
        if list_suffices {
            for &c in list {
                if row[c] >= radius {
                    break;
                }
                visit(c);
            }
        } else {
            for (c, &d) in row.iter().enumerate() {
                if c != v && d < radius {
                    visit(c);
                }
            }
        }
    }

    /// Reverses `path[lo..=hi]` and updates the positions: the 2-opt move, and how Or-opt turns a
    /// segment around.
    #[inline]
    fn reverse(&mut self, lo: usize, hi: usize) {
        self.path[lo..=hi].reverse();
        for p in lo..=hi {
            self.pos[self.path[p]] = p;
        }
    }
}

/// A move the search may apply.
trait Move {
    /// How much shorter the path gets, in km.
    fn gain(&self) -> f64;
}

/// The best move of one kind offered so far: it must gain more than [`MIN_GAIN_KM`], and strictly
/// more than the best before it, so ties go to the move found first.
struct Best<M>(Option<M>);

impl<M> Default for Best<M> {
    fn default() -> Self {
        Self(None)
    }
}

impl<M: Move> Best<M> {
    #[inline]
    fn offer(&mut self, m: M) {
        if m.gain() > MIN_GAIN_KM && self.0.as_ref().is_none_or(|b| m.gain() > b.gain()) {
            self.0 = Some(m);
        }
    }
}
