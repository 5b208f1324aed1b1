//! Where a route's candidates are looked up: the free prospects of one region, grouped in buckets (a
//! barangay in the first stage, a grid cell in the second), each with a bounding box.
//!
//! A route's nearest candidates are found by visiting its buckets nearest box first and stopping as
//! soon as no bucket left can hold anything nearer than what was found. A prospect leaves its bucket
//! the moment it is given, so a query only ever sees free prospects: the cost of a route's list
//! depends on how many candidates it keeps, not on how many other routes already took from the same
//! neighbourhood (which is what made a crowded month slow when lists were rebuilt from every
//! candidate and filtered).

use std::cmp::Ordering;

use crate::plan::tsp::{EARTH_RADIUS_KM, GeoPoint};

/// Safety margin on the distance lower bounds: they are computed with libm and the distances with
/// [`GeoPoint::km_to`]'s series, which agree to about 1e-12 relative.
const BOUND_SLACK: f64 = 1e-9;

/// A point that distances are measured from (a route centroid), prepared for both the exact distance
/// and the box bound.
#[derive(Debug, Clone, Copy)]
pub(super) struct Centre {
    lat: f64,
    lon: f64,
    cos_lat: f64,
    point: GeoPoint,
}

impl Centre {
    pub(super) fn new(lat: f64, lon: f64) -> Self {
        Self {
            lat,
            lon,
            cos_lat: lat.to_radians().cos(),
            point: GeoPoint::new(lat, lon),
        }
    }

    pub(super) fn km_to(&self, p: &GeoPoint) -> f64 {
        self.point.km_to(p)
    }
}

/// The latitude/longitude box of a bucket's prospects.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    lat_lo: f64,
    lat_hi: f64,
    lon_lo: f64,
    lon_hi: f64,
    /// The smallest cosine of a latitude in the box.
    cos_min: f64,
}

impl Bounds {
    pub(super) fn of(coords: impl Iterator<Item = (f64, f64)>) -> Self {
        let mut b = Bounds {
            lat_lo: f64::INFINITY,
            lat_hi: f64::NEG_INFINITY,
            lon_lo: f64::INFINITY,
            lon_hi: f64::NEG_INFINITY,
            cos_min: 0.0,
        };
        for (lat, lon) in coords {
            b.lat_lo = b.lat_lo.min(lat);
            b.lat_hi = b.lat_hi.max(lat);
            b.lon_lo = b.lon_lo.min(lon);
            b.lon_hi = b.lon_hi.max(lon);
        }
        let widest = b.lat_lo.abs().max(b.lat_hi.abs()).min(90.0);
        b.cos_min = widest.to_radians().cos().max(0.0);
        b
    }

    /// A lower bound of the haversine distance (km) from `c` to any point of the box.
    ///
    /// For a point q of the box, a = sin²(Δφ/2) + cos φc cos φq sin²(Δλ/2) is at least the same
    /// expression with Δφ and Δλ the box's smallest separations from `c` and cos φq its smallest
    /// cosine; the distance grows with a.
    pub(super) fn min_km(&self, c: &Centre) -> f64 {
        let gap = |v: f64, lo: f64, hi: f64| {
            if v < lo {
                lo - v
            } else if v > hi {
                v - hi
            } else {
                0.0
            }
        };
        let d_lat = gap(c.lat, self.lat_lo, self.lat_hi);
        let d_lon = gap(c.lon, self.lon_lo, self.lon_hi);
        if d_lat == 0.0 && d_lon == 0.0 {
            return 0.0;
        }
        let s_phi = (d_lat.to_radians() / 2.0).sin();
        let s_lam = (d_lon.to_radians() / 2.0).min(std::f64::consts::FRAC_PI_2).sin();
        let a = s_phi * s_phi + c.cos_lat * self.cos_min * s_lam * s_lam;
        let km = 2.0 * EARTH_RADIUS_KM * a.clamp(0.0, 1.0).sqrt().asin();
        (km * (1.0 - BOUND_SLACK) - BOUND_SLACK).max(0.0)
    }
}

/// Buffers reused from one query to the next.
#[derive(Default)]
pub(super) struct Scratch {
    /// A route's buckets with their lower bounds, nearest first.
    order: Vec<(f64, u32)>,
    /// Candidates found so far with their distance.
    pairs: Vec<(f64, u32)>,
}

/// The (distance, prospect) order of the contract's ties within one route.
pub(super) fn by_distance_then_prospect(a: &(f64, u32), b: &(f64, u32)) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The nearest free candidates of one route, sorted by (distance, prospect).
pub(super) struct Nearest {
    pub list: Vec<(f64, u32)>,
    /// Other candidates may exist beyond the list.
    pub truncated: bool,
}

/// Free prospects by bucket. Prospects are local indices `0..n`; each is in at most one bucket.
pub(super) struct Buckets {
    members: Vec<Vec<u32>>,
    bounds: Vec<Bounds>,
    /// (bucket, position in it) of each prospect still in a bucket; `u32::MAX` as bucket when none.
    slot: Vec<(u32, u32)>,
}

impl Buckets {
    /// `members[b]` are the prospects of bucket `b` and `bounds[b]` their box, of `prospects`
    /// prospects in all.
    pub(super) fn new(members: Vec<Vec<u32>>, bounds: Vec<Bounds>, prospects: usize) -> Self {
        let mut slot = vec![(u32::MAX, 0); prospects];
        for (b, ps) in members.iter().enumerate() {
            for (i, &p) in ps.iter().enumerate() {
                slot[p as usize] = (b as u32, i as u32);
            }
        }
        Self {
            members,
            bounds,
            slot,
        }
    }

    /// The free prospects of bucket `b`, in no particular order.
    pub(super) fn members(&self, b: u32) -> &[u32] {
        &self.members[b as usize]
    }

    /// Takes prospect `p` out of its bucket (it was given).
    pub(super) fn remove(&mut self, p: u32) {
        let (b, i) = self.slot[p as usize];
        if b == u32::MAX {
            return;
        }
        let ps = &mut self.members[b as usize];
        ps.swap_remove(i as usize);
        if let Some(&moved) = ps.get(i as usize) {
            self.slot[moved as usize].1 = i;
        }
        self.slot[p as usize].0 = u32::MAX;
    }

    /// The `k` nearest free prospects to `centre` among `buckets` (distinct), no farther than
    /// `limit_km`, sorted by (distance, prospect); `truncated` when more may exist.
    ///
    /// Buckets are visited by increasing lower bound. Once `k` candidates are strictly nearer than
    /// the next bucket's bound, no unvisited bucket can hold one of the first `k`, ties included.
    pub(super) fn nearest(
        &self,
        buckets: &[u32],
        centre: &Centre,
        limit_km: f64,
        k: usize,
        points: &[GeoPoint],
        scratch: &mut Scratch,
    ) -> Nearest {
        let Scratch { order, pairs } = scratch;
        order.clear();
        order.extend(
            buckets
                .iter()
                .filter(|&&b| !self.members[b as usize].is_empty())
                .map(|&b| (self.bounds[b as usize].min_km(centre), b))
                .filter(|&(bound, _)| bound <= limit_km),
        );
        order.sort_unstable_by(by_distance_then_prospect);
        pairs.clear();
        let mut complete = true;
        for (i, &(_, b)) in order.iter().enumerate() {
            pairs.extend(
                self.members[b as usize]
                    .iter()
                    .map(|&p| (centre.km_to(&points[p as usize]), p))
                    .filter(|&(d, _)| d <= limit_km),
            );
            let Some(&(next_bound, _)) = order.get(i + 1) else {
                break;
            };
            if pairs.len() >= k && k > 0 {
                pairs.select_nth_unstable_by(k - 1, by_distance_then_prospect);
                if pairs[k - 1].0 < next_bound {
                    complete = false;
                    break;
                }
            }
        }
        let truncated = !complete || pairs.len() > k;
        if pairs.len() > k {
            if k > 0 {
                pairs.select_nth_unstable_by(k - 1, by_distance_then_prospect);
            }
            pairs.truncate(k);
        }
        // A list of its own, sized to what it keeps (the buffer keeps the largest query's capacity).
        let mut list = pairs.to_vec();
        list.sort_unstable_by(by_distance_then_prospect);
        Nearest { list, truncated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::topup::tests::rng;

    #[test]
    fn box_bound_never_exceeds_a_distance_to_a_point_of_the_box() {
        let mut seed = 0x51_7C_C1_B7_27_22_0A_95u64;
        for _ in 0..2000 {
            let coords: Vec<(f64, f64)> = (0..1 + (rng(&mut seed) * 5.0) as usize)
                .map(|_| (4.0 + rng(&mut seed) * 17.5, 116.0 + rng(&mut seed) * 11.0))
                .collect();
            let bounds = Bounds::of(coords.iter().copied());
            let c = Centre::new(4.0 + rng(&mut seed) * 17.5, 116.0 + rng(&mut seed) * 11.0);
            for &(lat, lon) in &coords {
                assert!(bounds.min_km(&c) <= c.km_to(&GeoPoint::new(lat, lon)));
            }
        }
    }

    #[test]
    fn nearest_matches_a_full_sort_and_skips_removed_prospects() {
        let mut seed = 0x2F_6B_3A_91_0C_44_E7_15u64;
        for round in 0..200 {
            let n = (rng(&mut seed) * 200.0) as usize;
            let coords: Vec<(f64, f64)> = (0..n)
                .map(|_| (14.5 + rng(&mut seed) * 0.1, 121.0 + rng(&mut seed) * 0.1))
                .collect();
            let points: Vec<GeoPoint> = coords.iter().map(|&(a, b)| GeoPoint::new(a, b)).collect();
            let n_buckets = 1 + (rng(&mut seed) * 10.0) as usize;
            let mut members = vec![Vec::new(); n_buckets];
            for (p, &(lat, _)) in coords.iter().enumerate() {
                // Buckets are spatial bands, so their boxes separate and the early stop is exercised.
                let band = ((lat - 14.5) / 0.1 * n_buckets as f64) as usize;
                members[band.min(n_buckets - 1)].push(p as u32);
            }
            let bounds = members
                .iter()
                .map(|ps| Bounds::of(ps.iter().map(|&p| coords[p as usize])))
                .collect();
            let mut index = Buckets::new(members, bounds, n);
            let removed: Vec<u32> = (0..n as u32).filter(|_| rng(&mut seed) < 0.3).collect();
            for &p in &removed {
                index.remove(p);
            }
            let c = Centre::new(14.5 + rng(&mut seed) * 0.1, 121.0 + rng(&mut seed) * 0.1);
            let limit = if round % 2 == 0 { f64::INFINITY } else { 4.0 };
            let k = (rng(&mut seed) * 40.0) as usize;
            let all: Vec<u32> = (0..n_buckets as u32).collect();
            let got = index.nearest(&all, &c, limit, k, &points, &mut Scratch::default());
            let mut want: Vec<(f64, u32)> = (0..n as u32)
                .filter(|p| !removed.contains(p))
                .map(|p| (c.km_to(&points[p as usize]), p))
                .filter(|&(d, _)| d <= limit)
                .collect();
            want.sort_by(by_distance_then_prospect);
            let more = want.len() > k;
            want.truncate(k);
            assert_eq!(got.list, want, "round {round}");
            if more {
                assert!(got.truncated, "round {round}: more candidates exist");
            }
        }
    }
}
