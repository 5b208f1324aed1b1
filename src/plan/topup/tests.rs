use super::*;
use crate::plan::geo::haversine_km;

/// The contract's definition, literally: every pair of the stage, sorted, one pass. Returns the
/// pairs taken in the order the pass takes them.
fn reference(routes: &[ShortRoute], prospects: &[Prospect], radius_km: f64) -> Vec<(usize, usize, Stage)> {
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

/// `n` routes with a centroid in a square of 0.01 degrees from `corner`, a need of `need.0` plus up
/// to `need.1`, and one of `codes` barangays each.
fn routes_in_a_square(
    seed: &mut u64,
    n: usize,
    corner: (f64, f64),
    need: (usize, f64),
    codes: u32,
) -> Vec<ShortRoute> {
    (0..n)
        .map(|_| ShortRoute {
            centroid: Some((corner.0 + rng(seed) * 0.01, corner.1 + rng(seed) * 0.01)),
            need: need.0 + (rng(seed) * need.1) as usize,
            barangays: vec![(rng(seed) * f64::from(codes)) as u32],
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
        let routes = routes_in_a_square(&mut seed, 40, (14.52, 121.02), (1, 6.0), 3);
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
        let routes = routes_in_a_square(&mut seed, 60, (14.51, 121.01), (10, 40.0), 4);
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
