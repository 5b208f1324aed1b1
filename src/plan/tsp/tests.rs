use super::haversine::asin_sqrt;
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

/// The instance generators, so that a test can take turns among several.
#[derive(Clone, Copy)]
enum Shape {
    Clustered,
    Uniform,
    Grid,
    FewSites,
}

/// Clustered, uniform and grid-snapped instances in turn.
const MIXED: [Shape; 3] = [Shape::Clustered, Shape::Uniform, Shape::Grid];

/// Draws an instance of `n` stops of the shape `shapes[round % shapes.len()]`, loads it into `seq`
/// and returns it.
fn load_one_of(seq: &mut Sequencer, rng: &mut Rng, shapes: &[Shape], round: usize, n: usize) -> Instance {
    let (depot, stops) = match shapes[round % shapes.len()] {
        Shape::Clustered => clustered(rng, n),
        Shape::Uniform => uniform(rng, n, false),
        Shape::Grid => uniform(rng, n, true),
        Shape::FewSites => few_sites(rng, n),
    };
    seq.load(depot, &stops);
    (depot, stops)
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
        let (depot, stops) = load_one_of(&mut seq, &mut rng, &MIXED, round, n);
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
        load_one_of(&mut seq, &mut rng, &[Shape::FewSites, Shape::Clustered], round, n);
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
        let shapes = [Shape::Clustered, Shape::Uniform, Shape::Grid, Shape::FewSites];
        load_one_of(&mut seq, &mut rng, &shapes, round, n);
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
        let shapes = [Shape::Clustered, Shape::Uniform, Shape::FewSites];
        load_one_of(&mut seq, &mut rng, &shapes, round, n);
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
        load_one_of(&mut seq, &mut rng, &MIXED, round, n);
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
        load_one_of(&mut seq, &mut rng, &[Shape::Clustered, Shape::Uniform], round, n);
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
