//! The arrow that stands for a depot outside the frame: at the frame's edge, on the line from the
//! middle of the map to the depot, pointing at it, labelled with its distance from the middle.

use super::Frame;
use super::fit::{Projection, edge_point};
use crate::map::render::haversine_km;

/// A far depot's arrow, in px.
#[derive(Debug, Clone)]
pub(crate) struct Pointer {
    /// The arrow's outline, starting at its tip: on the frame's edge (less a margin), pointing
    /// at the depot.
    pub outline: Vec<(f64, f64)>,
    /// Middle of the arrow, where its label is anchored.
    pub middle: (f64, f64),
    /// Half the side of the arrow's bounding box around `middle`.
    pub reach: f64,
    /// Great-circle km from the point drawn in the middle of the map to the depot.
    pub km: f64,
}

/// The arrow for a depot at (lat, lon) `depot`, drawn `len` px long inside `map`.
pub(crate) fn pointer(map: Frame, proj: &Projection, depot: (f64, f64), len: f64) -> Pointer {
    let centre = (map.x + map.w / 2.0, map.y + map.h / 2.0);
    let margin = len * 0.25 + 2.0;
    let inner = Frame {
        x: map.x + margin,
        y: map.y + margin,
        w: (map.w - 2.0 * margin).max(1.0),
        h: (map.h - 2.0 * margin).max(1.0),
    };
    let target = proj.apply(depot);
    let tip = edge_point(inner, centre, target);
    let (dx, dy) = (target.0 - centre.0, target.1 - centre.1);
    let n = dx.hypot(dy).max(1e-9);
    let (ux, uy) = (dx / n, dy / n);
    // Head 40% of the length, shaft a third of the head's width.
    let (head, half) = (len * 0.4, len * 0.28);
    let shaft = half * 0.36;
    let at = |along: f64, across: f64| (tip.0 - ux * along - uy * across, tip.1 - uy * along + ux * across);
    let outline = vec![
        at(0.0, 0.0),
        at(head, half),
        at(head, shaft),
        at(len, shaft),
        at(len, -shaft),
        at(head, -shaft),
        at(head, -half),
    ];
    Pointer {
        outline,
        middle: at(len / 2.0, 0.0),
        reach: len / 2.0,
        km: haversine_km(proj.invert(centre), depot),
    }
}

/// The arrow's label, e.g. "depot 9.1 km".
pub(crate) fn label(km: f64) -> String {
    if km >= 10.0 {
        format!("depot {km:.0} km")
    } else {
        format!("depot {km:.1} km")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: Frame = Frame {
        x: 0.0,
        y: 0.0,
        w: 400.0,
        h: 300.0,
    };

    #[test]
    fn the_arrow_sits_on_the_edge_facing_the_depot() {
        let inner = Frame {
            x: 20.0,
            y: 20.0,
            w: 360.0,
            h: 260.0,
        };
        let proj = Projection::fit(&[(14.60, 121.00), (14.62, 121.02)], inner);
        // Due east of the stops, 0.2 degrees of longitude: about 21.5 km from the middle.
        let depot = (14.61, 121.21);
        let p = pointer(MAP, &proj, depot, 30.0);
        let tip = p.outline[0];
        assert!(tip.0 > 385.0 && tip.0 < 400.0, "{tip:?}");
        assert!((tip.1 - 150.0).abs() < 1.0, "{tip:?}");
        assert!(p.middle.0 < tip.0, "the tip leads, towards the depot");
        assert!(
            p.outline
                .iter()
                .all(|&(x, y)| (0.0..=400.0).contains(&x) && y >= 0.0)
        );
        assert!((p.km - 21.5).abs() < 0.3, "{}", p.km);
        assert_eq!(label(p.km), "depot 22 km");
        assert_eq!(label(9.14), "depot 9.1 km");
    }
}
