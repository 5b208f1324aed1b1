//! Sequencing a route too large for a distance matrix: stops ordered along a Hilbert curve over
//! the route's bounding box. A route key that collapses thousands of stores into one "route" (a
//! NULL-ish agent code, a copy-paste error) would otherwise need a matrix growing with the square of
//! its stops (20,000 stops: 3.2 GB) and local search over it; the curve takes O(n log n) time and
//! no more memory than the stops, and keeps nearby stops together. It is a fallback that keeps the
//! night going, not a good path: such a route is a data error to fix at the source.

use super::tsp::GeoPoint;

/// Cells per side of the curve's grid: 2^16, finer than any two distinct stores.
const ORDER: u32 = 16;

/// The stops in curve order, starting from the end of the curve nearer the depot.
pub fn curve_order(depot: (f64, f64), stops: &[(f64, f64)]) -> Vec<usize> {
    if stops.is_empty() {
        return Vec::new();
    }
    let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(lat, lon) in stops {
        (lat_lo, lat_hi) = (lat_lo.min(lat), lat_hi.max(lat));
        (lon_lo, lon_hi) = (lon_lo.min(lon), lon_hi.max(lon));
    }
    let side = f64::from((1u32 << ORDER) - 1);
    let cell = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            (((v - lo) / (hi - lo)) * side).round() as u32
        } else {
            0
        }
    };
    // Ties (stops in one cell) keep the input order: CustNo order, so the result is deterministic.
    let mut keyed: Vec<(u64, usize)> = stops
        .iter()
        .enumerate()
        .map(|(i, &(lat, lon))| {
            (
                hilbert_index(cell(lon, lon_lo, lon_hi), cell(lat, lat_lo, lat_hi)),
                i,
            )
        })
        .collect();
    keyed.sort_unstable();
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let home = GeoPoint::new(depot.0, depot.1);
    let km = |i: usize| home.km_to(&GeoPoint::new(stops[i].0, stops[i].1));
    if km(order[order.len() - 1]) < km(order[0]) {
        order.reverse();
    }
    order
}

/// The path's length in km: depot to the first stop, then stop to stop.
pub fn path_km(depot: (f64, f64), stops: &[(f64, f64)], order: &[usize]) -> f64 {
    let points: Vec<GeoPoint> = std::iter::once(depot)
        .chain(order.iter().map(|&i| stops[i]))
        .map(|(lat, lon)| GeoPoint::new(lat, lon))
        .collect();
    points.windows(2).map(|w| w[0].km_to(&w[1])).sum()
}

/// The position of cell (x, y) along the Hilbert curve of side 2^[`ORDER`].
fn hilbert_index(mut x: u32, mut y: u32) -> u64 {
    let mut d = 0u64;
    let mut s = 1u32 << (ORDER - 1);
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        // Rotate the quadrant so the curve stays continuous.
        if ry == 0 {
            if rx == 1 {
                let last = (1u32 << ORDER) - 1;
                (x, y) = (last - x, last - y);
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_fills_the_corner_square_first_moving_one_cell_at_a_time() {
        // A Hilbert curve's first 16 positions are the 4 x 4 square at the origin, and each cell
        // it visits is next to the one before: the locality the fallback relies on.
        let mut cells: Vec<(u64, (u32, u32))> = (0..4)
            .flat_map(|x| (0..4).map(move |y| (hilbert_index(x, y), (x, y))))
            .collect();
        cells.sort_unstable();
        let indices: Vec<u64> = cells.iter().map(|c| c.0).collect();
        assert_eq!(indices, (0..16).collect::<Vec<u64>>());
        for pair in cells.windows(2) {
            let ((x0, y0), (x1, y1)) = (pair[0].1, pair[1].1);
            assert_eq!(
                x0.abs_diff(x1) + y0.abs_diff(y1),
                1,
                "{:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn a_route_of_twenty_thousand_stops_is_ordered_once_each_near_stops_together() {
        // A 100 x 200 lattice of stores, about 100 m apart, given in a scrambled order.
        let mut stops: Vec<(f64, f64)> = (0..20_000)
            .map(|i| {
                (
                    14.5 + f64::from(i % 100) * 0.001,
                    121.0 + f64::from(i / 100) * 0.001,
                )
            })
            .collect();
        stops.sort_by(|a, b| {
            (a.0 * 7.0 + a.1 * 13.0)
                .sin()
                .total_cmp(&(b.0 * 7.0 + b.1 * 13.0).sin())
        });
        let depot = (14.49, 120.99);
        let order = curve_order(depot, &stops);
        let mut seen = vec![false; stops.len()];
        for &i in &order {
            assert!(!seen[i], "stop {i} twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "every stop once");
        let km = path_km(depot, &stops, &order);
        // Visiting 20,000 stores ~110 m apart cell by cell is ~2,200 km plus the way out; a random
        // order would be ~200,000 km.
        assert!(km < 4_000.0, "the curve keeps near stops together: {km:.0} km");
        let first = stops[order[0]];
        assert!(
            (first.0 - 14.5).abs() < 0.02 && (first.1 - 121.0).abs() < 0.02,
            "starts at the end near the depot: {first:?}"
        );
    }
}
