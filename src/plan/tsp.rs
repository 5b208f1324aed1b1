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

use std::collections::VecDeque;

/// Mean Earth radius used by every distance in routeflow.
pub(crate) const EARTH_RADIUS_KM: f64 = 6371.0;

/// Smallest gain (km) for which a move is applied, so rounding noise can never make the search
/// cycle.
const MIN_GAIN_KM: f64 = 1e-9;

/// Precomputed nearest neighbours per node. Most searches stay inside them; a longer search
/// radius falls back to scanning the matrix row, so this affects speed only, never the result.
const NEIGHBOURS: usize = 10;

/// Great-circle distance in km (haversine, R = 6371 km).
///
/// This is the formula used everywhere in routeflow: a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2),
/// d = 2 R asin(√a), with φ and λ in radians, evaluated as [`GeoPoint::km_to`] does.
#[must_use]
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    GeoPoint::new(lat1, lon1).km_to(&GeoPoint::new(lat2, lon2))
}

/// A point prepared for many haversine distances: the sine and cosine of its half latitude and half
/// longitude, and the cosine of its latitude.
///
/// Why: a distance matrix of a 60-stop route is 1,800 pairs, and the textbook formula spends two
/// sines per pair on the half differences. Expanded as sin((x₂ - x₁)/2) = sin(x₂/2) cos(x₁/2) -
/// cos(x₂/2) sin(x₁/2), a pair costs a few multiplications, a square root and (for the short arcs of
/// real routes) a short series instead of `asin`. The result agrees with the textbook formula to
/// 1e-12 relative or 1e-10 km (the expanded differences cancel on points metres apart), and is
/// symmetric bit for bit: swapping the points swaps the two products,
/// which only negates the difference before it is squared.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeoPoint {
    sin_half_phi: f64,
    cos_half_phi: f64,
    sin_half_lam: f64,
    cos_half_lam: f64,
    cos_phi: f64,
}

impl GeoPoint {
    /// Prepares (lat, lon) in degrees.
    #[must_use]
    pub fn new(lat: f64, lon: f64) -> Self {
        let (phi, lam) = (lat.to_radians(), lon.to_radians());
        let (sin_half_phi, cos_half_phi) = (phi / 2.0).sin_cos();
        let (sin_half_lam, cos_half_lam) = (lam / 2.0).sin_cos();
        Self {
            sin_half_phi,
            cos_half_phi,
            sin_half_lam,
            cos_half_lam,
            cos_phi: phi.cos(),
        }
    }

    /// Haversine distance in km to `other`.
    #[inline]
    #[must_use]
    pub fn km_to(&self, other: &GeoPoint) -> f64 {
        let s_phi = other.sin_half_phi * self.cos_half_phi - other.cos_half_phi * self.sin_half_phi;
        let s_lam = other.sin_half_lam * self.cos_half_lam - other.cos_half_lam * self.sin_half_lam;
        let a = s_phi * s_phi + (self.cos_phi * other.cos_phi) * (s_lam * s_lam);
        2.0 * EARTH_RADIUS_KM * asin_sqrt(a)
    }
}

/// asin(√a) for a haversine `a` in [0, 1] (a hair above 1 is clamped: rounding near antipodes).
///
/// Below √a = 0.05 (arcs under about 640 km, every real stop-to-stop leg) the Maclaurin series to
/// x¹¹ is used: the first term left out is under 5e-18 of the result, below f64 rounding, and it
/// costs a fraction of a libm `asin`.
#[inline]
fn asin_sqrt(a: f64) -> f64 {
    let x = a.min(1.0).sqrt();
    if x >= 0.05 {
        return x.asin();
    }
    let x2 = x * x;
    const C3: f64 = 1.0 / 6.0;
    const C5: f64 = 3.0 / 40.0;
    const C7: f64 = 5.0 / 112.0;
    const C9: f64 = 35.0 / 1152.0;
    const C11: f64 = 63.0 / 2816.0;
    x + x * x2 * (C3 + x2 * (C5 + x2 * (C7 + x2 * (C9 + x2 * C11))))
}

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

/// A 2-opt move: reverse `path[lo..=hi]`; `touched` are the end nodes of the changed edges.
struct Reversal {
    gain: f64,
    lo: usize,
    hi: usize,
    touched: [usize; 4],
}

/// An Or-opt move: take `path[s..=e]` out and put it back between `path[t]` and `path[t + 1]`
/// (or after `path[t]` when it is last), reversed if `reversed`.
struct Relocation {
    gain: f64,
    s: usize,
    e: usize,
    t: usize,
    reversed: bool,
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
    fn neighbours(&self, v: usize) -> &[usize] {
        &self.neigh[v * self.k..(v + 1) * self.k]
    }

    #[inline]
    fn d(&self, i: usize, j: usize) -> f64 {
        self.dist[i * self.dim + j]
    }

    /// Puts `v` on the work list unless it is already there.
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
                        gained += m.gain;
                    } else if let Some(m) = self.find_relocation(a) {
                        self.apply_relocation(&m);
                        gained += m.gain;
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

    /// The best 2-opt move that gives `a` a new, shorter edge.
    ///
    /// A 2-opt move that gains makes at least one of its two new edges shorter than the removed
    /// edge it shares an end with, so looking from every node, on both sides, at the nodes closer
    /// than its current neighbour there, finds every improving move.
    fn find_reversal(&self, a: usize) -> Option<Reversal> {
        let last = self.n;
        let pa = self.pos[a];
        let mut best: Option<Reversal> = None;
        let mut consider = |m: Reversal| {
            if m.gain > MIN_GAIN_KM && best.as_ref().is_none_or(|b| m.gain > b.gain) {
                best = Some(m);
            }
        };

        // Successor side: replace (a, b = succ a) and (c, succ c) by (a, c) and (b, succ c).
        if pa < last {
            let b = self.path[pa + 1];
            let ab = self.d(a, b);
            self.for_each_within(a, ab, |c| {
                let g = ab - self.d(a, c);
                let pc = self.pos[c];
                if pc > pa + 1 {
                    // a b .. c e  ->  a c .. b e; at the end of the path there is no e.
                    let (gain, e) = if pc < last {
                        let e = self.path[pc + 1];
                        (g + self.d(c, e) - self.d(b, e), e)
                    } else {
                        (g, c)
                    };
                    consider(Reversal {
                        gain,
                        lo: pa + 1,
                        hi: pc,
                        touched: [a, b, c, e],
                    });
                } else if pc + 1 < pa {
                    // c e .. a b  ->  c a .. e b
                    let e = self.path[pc + 1];
                    consider(Reversal {
                        gain: g + self.d(c, e) - self.d(e, b),
                        lo: pc + 1,
                        hi: pa,
                        touched: [a, b, c, e],
                    });
                }
            });
        }

        // Predecessor side: replace (b = pred a, a) and (pred c, c) by (a, c) and (b, pred c).
        // The depot has no predecessor and never moves.
        if pa > 0 {
            let b = self.path[pa - 1];
            let ba = self.d(b, a);
            self.for_each_within(a, ba, |c| {
                let g = ba - self.d(a, c);
                let pc = self.pos[c];
                if pc > pa + 1 {
                    // b a .. e c  ->  b e .. a c
                    let e = self.path[pc - 1];
                    consider(Reversal {
                        gain: g + self.d(e, c) - self.d(b, e),
                        lo: pa,
                        hi: pc - 1,
                        touched: [a, b, c, e],
                    });
                } else if pc > 0 && pc + 1 < pa {
                    // e c .. b a  ->  e b .. c a
                    let e = self.path[pc - 1];
                    consider(Reversal {
                        gain: g + self.d(e, c) - self.d(e, b),
                        lo: pc,
                        hi: pa - 1,
                        touched: [a, b, c, e],
                    });
                }
            });
        }

        // The end of the path: c e .. a -> c a .. e only removes (c, e), so the move is found
        // from c (successor side). A node that has just become the last one is not on the queue,
        // though, so `a` looks for it too rather than leaving it to the next full round.
        if pa == last {
            for &c in self.neighbours(a) {
                let pc = self.pos[c];
                if pc + 1 < pa {
                    let e = self.path[pc + 1];
                    consider(Reversal {
                        gain: self.d(c, e) - self.d(c, a),
                        lo: pc + 1,
                        hi: pa,
                        touched: [a, c, e, e],
                    });
                }
            }
        }
        best
    }

    fn apply_reversal(&mut self, m: &Reversal) {
        self.reverse(m.lo, m.hi);
        for v in m.touched {
            self.touch(v);
        }
    }

    fn reverse(&mut self, lo: usize, hi: usize) {
        self.path[lo..=hi].reverse();
        for p in lo..=hi {
            self.pos[self.path[p]] = p;
        }
    }

    /// Gain of removing `path[s..=e]` and closing the gap.
    fn removal_gain(&self, s: usize, e: usize) -> f64 {
        let prev = self.path[s - 1];
        let first = self.path[s];
        if e < self.n {
            let last = self.path[e];
            let next = self.path[e + 1];
            self.d(prev, first) + self.d(last, next) - self.d(prev, next)
        } else {
            self.d(prev, first)
        }
    }

    /// The Or-opt move of `path[s..=e]` into the gap after position `t`, in the better of its
    /// two orientations; `removal` is the segment's removal gain.
    fn relocation(&self, s: usize, e: usize, t: usize, removal: f64) -> Relocation {
        let (first, last) = (self.path[s], self.path[e]);
        let x = self.path[t];
        let (forward, backward) = if t < self.n {
            let y = self.path[t + 1];
            let xy = self.d(x, y);
            (
                self.d(x, first) + self.d(last, y) - xy,
                self.d(x, last) + self.d(first, y) - xy,
            )
        } else {
            (self.d(x, first), self.d(x, last))
        };
        let reversed = backward < forward;
        Relocation {
            gain: removal - if reversed { backward } else { forward },
            s,
            e,
            t,
            reversed,
        }
    }

    /// The segments of 1-3 stops with node `a` at one end, as (start, end) positions.
    fn segments_at(&self, a: usize) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (pa, last) = (self.pos[a], self.n);
        [(0, 0), (0, 1), (1, 0), (0, 2), (2, 0)]
            .into_iter()
            .filter(move |&(before, after)| pa > before && pa + after <= last)
            .map(move |(before, after)| (pa - before, pa + after))
    }

    /// The best Or-opt move that gives `a` a new, shorter edge.
    ///
    /// Or-opt removes the edges (p, f), (l, n) around a segment f..l and (x, y) where it goes in.
    /// By the usual Lin-Kernighan argument (some rotation of the exchange has only positive
    /// partial gains), an improving move has f's new edge shorter than max(d(p, f), removal gain),
    /// or the new edge of the insertion point joined to l shorter than d(x, y). So `a` is tried
    /// both as a segment end, against the nodes within that radius, and as an end of the
    /// insertion edge, against the segment ends within its length; both orientations each time.
    fn find_relocation(&self, a: usize) -> Option<Relocation> {
        let last = self.n;
        let pa = self.pos[a];
        let mut best: Option<Relocation> = None;
        let mut consider = |s: usize, e: usize, t: usize, removal: f64| {
            // The gaps at either side of the segment would leave the path as it is.
            if t + 1 < s || t > e {
                let m = self.relocation(s, e, t, removal);
                if m.gain > MIN_GAIN_KM && best.as_ref().is_none_or(|b| m.gain > b.gain) {
                    best = Some(m);
                }
            }
        };

        // No segment is skipped for a small removal gain: a segment of two or three stops can
        // bridge a gap (removal gain below zero) and still be worth moving to a wider gap.
        for (s, e) in self.segments_at(a) {
            let removal = self.removal_gain(s, e);
            // The edge `a` loses on the outer side of the segment (none at the end of the path).
            let lost = if pa == s {
                self.d(self.path[s - 1], a)
            } else if e < last {
                self.d(a, self.path[e + 1])
            } else {
                0.0
            };
            self.for_each_within(a, lost.max(removal), |c| {
                let pc = self.pos[c];
                consider(s, e, pc, removal);
                if pc > 0 {
                    consider(s, e, pc - 1, removal);
                }
            });
        }

        // Insertion into the edge (pred a, a), then into (a, succ a).
        for t in [pa.checked_sub(1), (pa < last).then_some(pa)]
            .into_iter()
            .flatten()
        {
            let gap = self.d(self.path[t], self.path[t + 1]);
            self.for_each_within(a, gap, |c| {
                for (s, e) in self.segments_at(c) {
                    consider(s, e, t, self.removal_gain(s, e));
                }
            });
        }
        best
    }

    fn apply_relocation(&mut self, m: &Relocation) {
        let (s, e, t) = (m.s, m.e, m.t);
        let len = e - s + 1;
        let prev = self.path[s - 1];
        let next = (e < self.n).then(|| self.path[e + 1]);
        let x = self.path[t];
        let y = (t < self.n).then(|| self.path[t + 1]);
        let (first, last) = (self.path[s], self.path[e]);

        let (lo, hi, start) = if t > e {
            self.path[s..=t].rotate_left(len);
            (s, t, t + 1 - len)
        } else {
            self.path[t + 1..=e].rotate_right(len);
            (t + 1, e, t + 1)
        };
        for p in lo..=hi {
            self.pos[self.path[p]] = p;
        }
        if m.reversed {
            self.reverse(start, start + len - 1);
        }

        for v in [Some(prev), next, Some(x), y, Some(first), Some(last)]
            .into_iter()
            .flatten()
        {
            self.touch(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: tiny, deterministic, good enough for test instances.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const MANILA: (f64, f64) = (14.5995, 120.9842);

    /// A depot and its stops.
    type Instance = ((f64, f64), Vec<(f64, f64)>);

    /// Stores in a few clusters within roughly 10 km of the depot, some of them sharing a
    /// position (same building), as real routes have.
    fn clustered(rng: &mut Rng, n: usize) -> Instance {
        let depot = (
            MANILA.0 + (rng.unit() - 0.5) * 0.1,
            MANILA.1 + (rng.unit() - 0.5) * 0.1,
        );
        let clusters: Vec<(f64, f64)> = (0..1 + rng.below(5))
            .map(|_| {
                (
                    depot.0 + (rng.unit() - 0.5) * 0.15,
                    depot.1 + (rng.unit() - 0.5) * 0.15,
                )
            })
            .collect();
        let mut stops: Vec<(f64, f64)> = Vec::with_capacity(n);
        for _ in 0..n {
            if !stops.is_empty() && rng.below(10) == 0 {
                let twin = stops[rng.below(stops.len())];
                stops.push(twin);
            } else {
                let c = clusters[rng.below(clusters.len())];
                stops.push((c.0 + (rng.unit() - 0.5) * 0.03, c.1 + (rng.unit() - 0.5) * 0.03));
            }
        }
        (depot, stops)
    }

    /// Uniform stops in a box, optionally snapped to a coarse grid so that duplicates, and hence
    /// exact ties, are common.
    fn uniform(rng: &mut Rng, n: usize, grid: bool) -> Instance {
        let mut point = || {
            let (mut lat, mut lon) = (rng.unit() * 0.1, rng.unit() * 0.1);
            if grid {
                lat = (lat * 40.0).floor() / 40.0;
                lon = (lon * 40.0).floor() / 40.0;
            }
            (MANILA.0 + lat, MANILA.1 + lon)
        };
        let depot = point();
        let stops = (0..n).map(|_| point()).collect();
        (depot, stops)
    }

    /// Stops spread over five sites (malls, markets) with many stops at exactly the same place:
    /// lots of zero distances and exact ties.
    fn few_sites(rng: &mut Rng, n: usize) -> Instance {
        let (depot, sites) = uniform(rng, 5, false);
        (depot, (0..n).map(|_| sites[rng.below(5)]).collect())
    }

    /// The old system's algorithm, written the plain way.
    fn reference_nn(depot: (f64, f64), stops: &[(f64, f64)]) -> Vec<usize> {
        let mut visited = vec![false; stops.len()];
        let mut order = Vec::new();
        let mut current = depot;
        for _ in 0..stops.len() {
            let mut best: Option<(usize, f64)> = None;
            for (j, &p) in stops.iter().enumerate() {
                if visited[j] {
                    continue;
                }
                let d = haversine_km(current.0, current.1, p.0, p.1);
                if best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((j, d));
                }
            }
            let (j, _) = best.unwrap();
            visited[j] = true;
            order.push(j);
            current = stops[j];
        }
        order
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&s| s < n && !std::mem::replace(&mut seen[s], true))
    }

    /// Optimal open-path length by depth-first search over all orders, pruned by the best so far.
    fn brute_force_km(seq: &Sequencer, n: usize) -> f64 {
        fn go(seq: &Sequencer, at: usize, used: &mut [bool], len: f64, left: usize, best: &mut f64) {
            if len >= *best {
                return;
            }
            if left == 0 {
                *best = len;
                return;
            }
            for s in 0..used.len() {
                if !used[s] {
                    used[s] = true;
                    go(seq, s + 1, used, len + seq.d(at, s + 1), left - 1, best);
                    used[s] = false;
                }
            }
        }
        let mut best = f64::INFINITY;
        go(seq, 0, &mut vec![false; n], 0.0, n, &mut best);
        best
    }

    #[test]
    fn haversine_known_values() {
        let d = haversine_km(14.5995, 120.9842, 10.3157, 123.8854);
        assert!((571.0..572.0).contains(&d), "Manila-Cebu {d}");
        assert_eq!(haversine_km(14.5995, 120.9842, 14.5995, 120.9842), 0.0);
        // A quarter of the equator.
        let q = haversine_km(0.0, 0.0, 0.0, 90.0);
        assert!((q - EARTH_RADIUS_KM * std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        // Antipodes: finite, half the circumference.
        let h = haversine_km(0.0, 0.0, 0.0, 180.0);
        assert!((h - EARTH_RADIUS_KM * std::f64::consts::PI).abs() < 1e-6);
    }

    #[test]
    fn haversine_agrees_with_the_textbook_formula() {
        let textbook = |lat1: f64, lon1: f64, lat2: f64, lon2: f64| {
            let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
            let (dphi, dlam) = (phi2 - phi1, lon2.to_radians() - lon1.to_radians());
            let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlam / 2.0).sin().powi(2);
            2.0 * 6371.0 * a.min(1.0).sqrt().asin()
        };
        let mut rng = Rng(11);
        for i in 0..100_000 {
            let (lat1, lon1) = (rng.unit() * 170.0 - 85.0, rng.unit() * 360.0 - 180.0);
            // Far pairs, city-sized pairs, and pairs a few metres apart (where the expanded
            // differences cancel most).
            let spread = [180.0, 0.2, 0.0001][i % 3];
            let (lat2, lon2) = if spread == 180.0 {
                (rng.unit() * 170.0 - 85.0, rng.unit() * 360.0 - 180.0)
            } else {
                (
                    lat1 + (rng.unit() - 0.5) * spread,
                    lon1 + (rng.unit() - 0.5) * spread,
                )
            };
            let (ours, reference) = (
                haversine_km(lat1, lon1, lat2, lon2),
                textbook(lat1, lon1, lat2, lon2),
            );
            // 1e-12 relative; on points metres apart the expanded differences cancel, which costs
            // absolute precision of a few f64 ulps of the Earth's diameter (nanometres).
            let tolerance = (reference * 1e-12).max(1e-10);
            assert!(
                (ours - reference).abs() <= tolerance,
                "{lat1} {lon1} {lat2} {lon2}: {ours} vs {reference}"
            );
        }
    }

    #[test]
    fn asin_series_matches_libm_where_it_is_used() {
        for i in 0..=10_000 {
            let x = 0.05 * f64::from(i) / 10_000.0;
            let (ours, libm) = (asin_sqrt(x * x), (x * x).sqrt().asin());
            assert!(
                (ours - libm).abs() <= libm * 4.0 * f64::EPSILON,
                "{x}: {ours} vs {libm}"
            );
        }
    }

    #[test]
    fn haversine_is_symmetric_and_matches_the_matrix_bit_for_bit() {
        let mut rng = Rng(7);
        let mut seq = Sequencer::new();
        for _ in 0..20 {
            let (depot, stops) = clustered(&mut rng, 30);
            seq.load(depot, &stops);
            let points: Vec<_> = std::iter::once(depot).chain(stops).collect();
            for (i, p) in points.iter().enumerate() {
                for (j, q) in points.iter().enumerate() {
                    let d = haversine_km(p.0, p.1, q.0, q.1);
                    assert_eq!(d.to_bits(), haversine_km(q.0, q.1, p.0, p.1).to_bits());
                    assert_eq!(d.to_bits(), seq.d(i, j).to_bits(), "{i} {j}");
                }
            }
        }
    }

    #[test]
    fn nearest_neighbor_matches_reference() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        for round in 0..600 {
            let n = rng.below(121);
            let (depot, stops) = match round % 3 {
                0 => clustered(&mut rng, n),
                1 => uniform(&mut rng, n, false),
                _ => uniform(&mut rng, n, true),
            };
            seq.load(depot, &stops);
            seq.nearest_neighbor(&mut order);
            assert_eq!(order, reference_nn(depot, &stops), "round {round}, n {n}");
        }
    }

    #[test]
    fn nearest_neighbor_ties_go_to_the_lowest_index() {
        // On the equator, points mirrored around the depot are at exactly equal distances.
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        let stops = [(0.0, 0.01), (0.0, -0.01), (0.0, 0.01), (0.0, -0.02)];
        seq.load((0.0, 0.0), &stops);
        seq.nearest_neighbor(&mut order);
        assert_eq!(order, [0, 2, 1, 3]);
        assert_eq!(order, reference_nn((0.0, 0.0), &stops));
    }

    #[test]
    fn edge_cases() {
        let mut seq = Sequencer::new();
        let mut order = vec![99];
        let depot = (14.6, 121.0);

        seq.load(depot, &[]);
        seq.nearest_neighbor(&mut order);
        assert!(order.is_empty());
        seq.improve(&mut order);
        assert!(order.is_empty());
        assert_eq!(seq.path_km(&order), 0.0);

        seq.load(depot, &[(14.61, 121.01)]);
        seq.nearest_neighbor(&mut order);
        seq.improve(&mut order);
        assert_eq!(order, [0]);
        assert!(seq.path_km(&order) > 0.0);

        // Two stops: the far one first is worse; improve must turn it around.
        seq.load(depot, &[(14.7, 121.0), (14.65, 121.0)]);
        let mut far_first = vec![0, 1];
        seq.improve(&mut far_first);
        assert_eq!(far_first, [1, 0]);

        // Everything at one place, including the depot.
        let same = vec![depot; 9];
        seq.load(depot, &same);
        seq.nearest_neighbor(&mut order);
        assert_eq!(order, (0..9).collect::<Vec<_>>());
        seq.improve(&mut order);
        assert_eq!(order, (0..9).collect::<Vec<_>>());
        assert_eq!(seq.path_km(&order), 0.0);

        // Duplicates among distinct points.
        let stops = [(14.61, 121.0), (14.62, 121.0), (14.61, 121.0), (14.62, 121.0)];
        seq.load(depot, &stops);
        seq.nearest_neighbor(&mut order);
        let nn = seq.path_km(&order);
        seq.improve(&mut order);
        assert!(is_permutation(&order, 4));
        assert!(seq.path_km(&order) <= nn);
    }

    #[test]
    #[should_panic(expected = "permutation")]
    fn improve_rejects_a_non_permutation() {
        let mut seq = Sequencer::new();
        seq.load((14.6, 121.0), &[(14.61, 121.0), (14.62, 121.0)]);
        seq.improve(&mut vec![1, 1]);
    }

    #[test]
    fn neighbour_lists_hold_the_nearest_nodes() {
        let mut rng = Rng(5);
        let mut seq = Sequencer::new();
        for round in 0..60 {
            let n = rng.below(40);
            let (depot, stops) = if round % 2 == 0 {
                few_sites(&mut rng, n)
            } else {
                clustered(&mut rng, n)
            };
            seq.load(depot, &stops);
            seq.build_neighbours();
            for v in 0..=n {
                let mut expected: Vec<usize> = (0..=n).filter(|&c| c != v).collect();
                expected.sort_by(|&x, &y| seq.d(v, x).total_cmp(&seq.d(v, y)).then(x.cmp(&y)));
                expected.truncate(NEIGHBOURS);
                assert_eq!(seq.neighbours(v), expected, "round {round}, node {v}");
            }
        }
    }

    /// Fails if any 2-opt or Or-opt move, applied to a copy of `order` and measured from scratch,
    /// would shorten the path.
    fn assert_no_improving_move(seq: &Sequencer, order: &[usize], what: &str) {
        let n = order.len();
        let limit = seq.path_km(order) - 1e-7;
        let mut moved = Vec::with_capacity(n);
        for i in 0..n {
            for j in i + 1..n {
                moved.clear();
                moved.extend_from_slice(order);
                moved[i..=j].reverse();
                assert!(seq.path_km(&moved) > limit, "{what}: 2-opt {i}..={j}");
            }
        }
        for len in 1..=3.min(n) {
            for s in 0..=n - len {
                let mut rest = order.to_vec();
                let mut segment: Vec<usize> = rest.drain(s..s + len).collect();
                for reversed in [false, true] {
                    if reversed {
                        segment.reverse();
                    }
                    for at in 0..=rest.len() {
                        moved.clear();
                        moved.extend_from_slice(&rest[..at]);
                        moved.extend_from_slice(&segment);
                        moved.extend_from_slice(&rest[at..]);
                        assert!(
                            seq.path_km(&moved) > limit,
                            "{what}: Or-opt of {len} from {s} to {at}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn improve_to_local_optimum_leaves_no_improving_move() {
        let mut rng = Rng(777);
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        for round in 0..80 {
            let n = rng.below(71);
            let (depot, stops) = match round % 4 {
                0 => clustered(&mut rng, n),
                1 => uniform(&mut rng, n, false),
                2 => uniform(&mut rng, n, true),
                _ => few_sites(&mut rng, n),
            };
            seq.load(depot, &stops);
            seq.nearest_neighbor(&mut order);
            seq.improve_to_local_optimum(&mut order);
            assert_no_improving_move(&seq, &order, &format!("round {round}, n {n}"));
        }
    }

    /// The run's search (no proof rounds) stays within a hair of the proven local optimum, and
    /// what it leaves is only ever shortened by the proof rounds.
    #[test]
    fn improve_is_close_to_the_proven_local_optimum() {
        let mut rng = Rng(31337);
        let mut seq = Sequencer::new();
        let (mut quick_km, mut proven_km) = (0.0, 0.0);
        for round in 0..200 {
            let n = 20 + rng.below(101);
            let (depot, stops) = match round % 3 {
                0 => clustered(&mut rng, n),
                1 => uniform(&mut rng, n, false),
                _ => few_sites(&mut rng, n),
            };
            seq.load(depot, &stops);
            let mut quick = Vec::new();
            seq.nearest_neighbor(&mut quick);
            let nn = seq.path_km(&quick);
            seq.improve(&mut quick);
            let mut proven = quick.clone();
            seq.improve_to_local_optimum(&mut proven);
            let (q, p) = (seq.path_km(&quick), seq.path_km(&proven));
            assert!(q <= nn && p <= q, "round {round}: nn {nn}, quick {q}, proven {p}");
            quick_km += q;
            proven_km += p;
        }
        assert!(
            quick_km <= proven_km * 1.005,
            "quick {quick_km} km, proven {proven_km} km"
        );
    }

    #[test]
    fn improve_works_from_any_order() {
        let mut rng = Rng(4242);
        let mut seq = Sequencer::new();
        for round in 0..40 {
            let n = rng.below(61);
            let (depot, stops) = clustered(&mut rng, n);
            seq.load(depot, &stops);
            // Fisher-Yates shuffle of 0..n.
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let start = seq.path_km(&order);
            seq.improve_to_local_optimum(&mut order);
            assert!(is_permutation(&order, n), "round {round}");
            assert!(seq.path_km(&order) <= start, "round {round}");
            assert_no_improving_move(&seq, &order, &format!("round {round}, n {n}"));
        }
    }

    #[test]
    fn improve_never_longer_than_nn_and_keeps_a_permutation() {
        let mut rng = Rng(12345);
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        for round in 0..300 {
            let n = rng.below(121);
            let (depot, stops) = match round % 3 {
                0 => clustered(&mut rng, n),
                1 => uniform(&mut rng, n, false),
                _ => uniform(&mut rng, n, true),
            };
            seq.load(depot, &stops);
            seq.nearest_neighbor(&mut order);
            let nn = seq.path_km(&order);
            seq.improve(&mut order);
            assert!(is_permutation(&order, n), "round {round}");
            assert!(seq.path_km(&order) <= nn, "round {round}");
        }
    }

    #[test]
    fn improve_fixes_a_clearly_bad_nn_path() {
        // Stops on a line through the depot: one just behind it, ten ahead. Nearest neighbour
        // runs ahead to the end and then all the way back; the good path takes the one behind
        // first.
        let depot = (0.0, 0.0);
        let mut stops = vec![(0.0, -0.015)];
        stops.extend((1..=10).map(|k| (0.0, 0.01 * k as f64)));
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        seq.load(depot, &stops);
        seq.nearest_neighbor(&mut order);
        assert_eq!(order, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
        let nn = seq.path_km(&order);
        seq.improve(&mut order);
        assert_eq!(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(seq.path_km(&order) < 0.7 * nn);
    }

    #[test]
    fn improve_is_deterministic_and_independent_of_earlier_routes() {
        let mut rng = Rng(99);
        let instances: Vec<_> = (0..30)
            .map(|i| clustered(&mut rng, [5, 120, 40, 250, 2][i % 5]))
            .collect();
        let mut reused = Sequencer::new();
        for (depot, stops) in &instances {
            let run = |seq: &mut Sequencer| {
                let mut order = Vec::new();
                seq.load(*depot, stops);
                seq.nearest_neighbor(&mut order);
                seq.improve(&mut order);
                order
            };
            let a = run(&mut reused);
            let b = run(&mut Sequencer::new());
            assert_eq!(a, b);
            // Improving a proven local optimum again changes nothing.
            let mut proven = a.clone();
            reused.improve_to_local_optimum(&mut proven);
            let mut again = proven.clone();
            reused.improve_to_local_optimum(&mut again);
            assert_eq!(again, proven);
        }
    }

    #[test]
    fn improve_is_near_optimal_on_small_routes() {
        let mut rng = Rng(2024);
        let mut seq = Sequencer::new();
        let mut order = Vec::new();
        let (mut excess_sum, mut optimal_hits, rounds) = (0.0, 0, 150);
        for round in 0..rounds {
            let n = 3 + round % 6;
            let (depot, stops) = if round % 2 == 0 {
                clustered(&mut rng, n)
            } else {
                uniform(&mut rng, n, false)
            };
            seq.load(depot, &stops);
            seq.nearest_neighbor(&mut order);
            let nn = seq.path_km(&order);
            seq.improve(&mut order);
            let got = seq.path_km(&order);
            let best = brute_force_km(&seq, n);
            assert!(got <= nn, "round {round}");
            assert!(got >= best - 1e-9, "round {round}");
            if best > 0.0 {
                excess_sum += got / best - 1.0;
            }
            if got <= best + 1e-9 {
                optimal_hits += 1;
            }
        }
        let average = excess_sum / rounds as f64;
        assert!(average < 0.02, "average excess {average}");
        assert!(
            optimal_hits * 10 >= rounds * 8,
            "optimal in {optimal_hits}/{rounds}"
        );
    }
}
