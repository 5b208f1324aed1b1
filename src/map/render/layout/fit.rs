//! Fitting the map to the stops: the projection, which depots are drawn in place, and where a
//! depot leg leaves the frame.
//!
//! A depot is often kilometres from its agents' stops; fitting both would shrink the 60 stops of a
//! route into one knot in a corner. So the frame fits the stops, and a depot stays in it only when
//! that costs little of the scale; a far one gets a pointer at the frame's edge instead.

use super::{Frame, MIN_SPAN_DEG};

/// A depot may widen the stops' frame until the stops are drawn at this share of the scale they
/// would have alone; farther than that it is shown by a pointer.
pub(crate) const DEPOT_KEEP_SCALE: f64 = 0.7;

/// Equirectangular projection, x shrunk by cos(latitude) so distances look right, fitted to a
/// rectangle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Projection {
    /// Centre of the rectangle fitted to.
    cx: f64,
    cy: f64,
    /// cos of the middle latitude.
    k: f64,
    /// Projected centre of the points.
    mx: f64,
    my: f64,
    /// Pixels per projected unit (one degree of arc).
    pub scale: f64,
}

impl Projection {
    /// Fits the (lat, lon) points `all` (not empty) into `inner`.
    pub(crate) fn fit(all: &[(f64, f64)], inner: Frame) -> Self {
        let fold = |f: fn(f64, f64) -> f64, init: f64, get: fn(&(f64, f64)) -> f64| {
            all.iter().map(get).fold(init, f)
        };
        let lat0 = fold(f64::min, f64::INFINITY, |p| p.0);
        let lat1 = fold(f64::max, f64::NEG_INFINITY, |p| p.0);
        let lon0 = fold(f64::min, f64::INFINITY, |p| p.1);
        let lon1 = fold(f64::max, f64::NEG_INFINITY, |p| p.1);
        let k = ((lat0 + lat1) / 2.0).to_radians().cos().max(0.01);
        let span_x = ((lon1 - lon0) * k).max(MIN_SPAN_DEG);
        let span_y = (lat1 - lat0).max(MIN_SPAN_DEG);
        Self {
            cx: inner.x + inner.w / 2.0,
            cy: inner.y + inner.h / 2.0,
            k,
            mx: (lon0 + lon1) / 2.0 * k,
            my: (lat0 + lat1) / 2.0,
            scale: (inner.w.max(1.0) / span_x).min(inner.h.max(1.0) / span_y),
        }
    }

    /// The pixel position of (lat, lon).
    pub(crate) fn apply(&self, p: (f64, f64)) -> (f64, f64) {
        (
            self.cx + (p.1 * self.k - self.mx) * self.scale,
            self.cy - (p.0 - self.my) * self.scale,
        )
    }

    /// The (lat, lon) drawn at pixel (x, y).
    pub(crate) fn invert(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.my - (y - self.cy) / self.scale,
            ((x - self.cx) / self.scale + self.mx) / self.k,
        )
    }
}

/// The projection for `stops` and `depots` (lat, lon) in `inner`, and which depots it keeps in
/// place: the stops alone set the scale, then depots nearest first join while the stops keep
/// [`DEPOT_KEEP_SCALE`] of it. Without stops the depots are fitted.
pub(crate) fn fit_to_stops(
    stops: &[(f64, f64)],
    depots: &[(f64, f64)],
    inner: Frame,
) -> (Projection, Vec<bool>) {
    if stops.is_empty() {
        return (Projection::fit(depots, inner), vec![true; depots.len()]);
    }
    let alone = Projection::fit(stops, inner);
    let centre = alone.invert((alone.cx, alone.cy));
    let mut order: Vec<usize> = (0..depots.len()).collect();
    order.sort_by(|&a, &b| {
        let d = |i: usize| super::super::haversine_km(centre, depots[i]);
        d(a).total_cmp(&d(b))
    });
    let mut points = stops.to_vec();
    let mut proj = alone;
    for i in order {
        points.push(depots[i]);
        let wider = Projection::fit(&points, inner);
        if wider.scale < alone.scale * DEPOT_KEEP_SCALE {
            points.pop();
            break;
        }
        proj = wider;
    }
    let kept = depots
        .iter()
        .map(|&d| contains(inner, proj.apply(d), 0.5))
        .collect();
    (proj, kept)
}

/// Whether (x, y) lies in `f`, allowing `slack` px for rounding.
pub(crate) fn contains(f: Frame, (x, y): (f64, f64), slack: f64) -> bool {
    x >= f.x - slack && x <= f.x + f.w + slack && y >= f.y - slack && y <= f.y + f.h + slack
}

/// Where the segment from `inside` (in `f`) towards `outside` crosses the edge of `f`.
pub(crate) fn edge_point(f: Frame, inside: (f64, f64), outside: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (outside.0 - inside.0, outside.1 - inside.1);
    let mut t: f64 = 1.0;
    let mut limit = |d: f64, from: f64, lo: f64, hi: f64| {
        if d > 0.0 {
            t = t.min((hi - from) / d);
        } else if d < 0.0 {
            t = t.min((lo - from) / d);
        }
    };
    limit(dx, inside.0, f.x, f.x + f.w);
    limit(dy, inside.1, f.y, f.y + f.h);
    let t = t.max(0.0);
    (inside.0 + dx * t, inside.1 + dy * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INNER: Frame = Frame {
        x: 10.0,
        y: 10.0,
        w: 400.0,
        h: 300.0,
    };

    fn stops() -> Vec<(f64, f64)> {
        vec![(14.60, 121.00), (14.62, 121.03), (14.61, 121.01)]
    }

    #[test]
    fn a_far_depot_leaves_the_frame_fitted_to_the_stops() {
        let far = (14.70, 121.10);
        let (proj, kept) = fit_to_stops(&stops(), &[far], INNER);
        assert_eq!(kept, [false]);
        let alone = Projection::fit(&stops(), INNER);
        assert_eq!(proj.scale, alone.scale);
        assert!(!contains(INNER, proj.apply(far), 0.5));
    }

    #[test]
    fn a_near_depot_is_kept_in_place() {
        let near = (14.625, 121.031);
        let (proj, kept) = fit_to_stops(&stops(), &[near, (15.5, 122.0)], INNER);
        assert_eq!(kept, [true, false]);
        assert!(contains(INNER, proj.apply(near), 0.5));
        for s in stops() {
            assert!(contains(INNER, proj.apply(s), 0.5));
        }
        let alone = Projection::fit(&stops(), INNER);
        assert!(proj.scale >= alone.scale * DEPOT_KEEP_SCALE);
    }

    #[test]
    fn without_stops_the_depots_are_fitted() {
        let (proj, kept) = fit_to_stops(&[], &[(14.0, 121.0)], INNER);
        assert_eq!(kept, [true]);
        let (x, y) = proj.apply((14.0, 121.0));
        assert!((x - 210.0).abs() < 1e-9 && (y - 160.0).abs() < 1e-9);
    }

    #[test]
    fn invert_undoes_apply_and_edge_point_is_on_the_edge() {
        let proj = Projection::fit(&stops(), INNER);
        let p = (14.605, 121.02);
        let back = proj.invert(proj.apply(p));
        assert!((back.0 - p.0).abs() < 1e-9 && (back.1 - p.1).abs() < 1e-9);
        assert_eq!(edge_point(INNER, (110.0, 60.0), (610.0, 60.0)), (410.0, 60.0));
        assert_eq!(edge_point(INNER, (110.0, 60.0), (110.0, -90.0)), (110.0, 10.0));
        let (x, y) = edge_point(INNER, (210.0, 160.0), (-190.0, 560.0));
        assert!((x - 60.0).abs() < 1e-9 && (y - 310.0).abs() < 1e-9, "{x} {y}");
    }
}
