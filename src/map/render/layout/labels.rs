//! Stop numbers placed so that no two overlap: each label tries its mark's middle, then places
//! around it, then places farther out joined by a leader line; one that fits nowhere is left out
//! (the stop keeps its mark, and the SVG its hover text).

use super::Frame;

/// An axis-aligned box in px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    /// Whether the two share any area (touching edges do not count).
    pub(crate) fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn within(&self, f: Frame) -> bool {
        self.x >= f.x && self.y >= f.y && self.x + self.w <= f.x + f.w && self.y + self.h <= f.y + f.h
    }

    pub(crate) fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// A mark to label: where it is, how far it reaches, and its text's size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub x: f64,
    pub y: f64,
    /// Half the side of the mark's bounding box.
    pub reach: f64,
    /// Label width and height in px.
    pub w: f64,
    pub h: f64,
}

impl Mark {
    fn bbox(&self) -> Rect {
        Rect {
            x: self.x - self.reach,
            y: self.y - self.reach,
            w: 2.0 * self.reach,
            h: 2.0 * self.reach,
        }
    }
}

/// Where a label went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Spot {
    /// In the middle of its mark.
    Inside(Rect),
    /// Beside the mark; `leader` is the line from the mark's edge when the label stands off.
    Beside {
        rect: Rect,
        leader: Option<[(f64, f64); 2]>,
    },
}

impl Spot {
    pub(crate) fn rect(&self) -> Rect {
        match *self {
            Spot::Inside(r) | Spot::Beside { rect: r, .. } => r,
        }
    }
}

/// The eight directions tried around a mark, most readable first: right, left, above, below,
/// then the diagonals.
const DIRECTIONS: [(f64, f64); 8] = [
    (1.0, 0.0),
    (-1.0, 0.0),
    (0.0, -1.0),
    (0.0, 1.0),
    (1.0, -1.0),
    (-1.0, -1.0),
    (1.0, 1.0),
    (-1.0, 1.0),
];

/// Label box for direction `d` at `dist` px from the mark's middle: the box's nearest side or
/// corner touches that distance.
fn beside(m: &Mark, d: (f64, f64), dist: f64) -> Rect {
    let diag = if d.0 != 0.0 && d.1 != 0.0 {
        std::f64::consts::FRAC_1_SQRT_2
    } else {
        1.0
    };
    let (px, py) = (m.x + d.0 * dist * diag, m.y + d.1 * dist * diag);
    let x = match d.0 {
        dx if dx > 0.0 => px,
        dx if dx < 0.0 => px - m.w,
        _ => px - m.w / 2.0,
    };
    let y = match d.1 {
        dy if dy > 0.0 => py,
        dy if dy < 0.0 => py - m.h,
        _ => py - m.h / 2.0,
    };
    Rect { x, y, w: m.w, h: m.h }
}

/// The candidate spots of mark `m`, in order of preference.
fn candidates(m: &Mark, inside_fits: bool) -> Vec<Spot> {
    let mut v = Vec::with_capacity(17);
    if inside_fits {
        v.push(Spot::Inside(Rect {
            x: m.x - m.w / 2.0,
            y: m.y - m.h / 2.0,
            w: m.w,
            h: m.h,
        }));
    }
    let near = m.reach + 2.0;
    for d in DIRECTIONS {
        v.push(Spot::Beside {
            rect: beside(m, d, near),
            leader: None,
        });
    }
    let far = m.reach * 2.2 + m.h;
    for d in DIRECTIONS {
        let rect = beside(m, d, far);
        let len = (d.0 * d.0 + d.1 * d.1).sqrt();
        let edge = (m.x + d.0 / len * m.reach, m.y + d.1 / len * m.reach);
        let end = (m.x + d.0 / len * (far - 1.0), m.y + d.1 / len * (far - 1.0));
        v.push(Spot::Beside {
            rect,
            leader: Some([edge, end]),
        });
    }
    v
}

/// Places one label per mark, in order (earlier marks get the better spots), inside `bounds`,
/// clear of every other mark, of `obstacles` and of the labels already placed. A label may sit in
/// its own mark when `inside_fits(i)` says the text fits there. None for a label left out.
pub(crate) fn place(
    marks: &[Mark],
    inside_fits: impl Fn(usize) -> bool,
    bounds: Frame,
    obstacles: &[Rect],
) -> Vec<Option<Spot>> {
    let boxes: Vec<Rect> = marks.iter().map(Mark::bbox).collect();
    let mut placed: Vec<Rect> = Vec::new();
    let mut out = Vec::with_capacity(marks.len());
    for (i, m) in marks.iter().enumerate() {
        let free = |r: &Rect| {
            r.within(bounds)
                && !placed.iter().chain(obstacles).any(|o| o.overlaps(r))
                && !boxes.iter().enumerate().any(|(j, b)| j != i && b.overlaps(r))
        };
        let spot = candidates(m, inside_fits(i)).into_iter().find(|s| {
            free(&s.rect())
                && match s {
                    // A leader crossing another mark would point at the wrong stop.
                    Spot::Beside {
                        leader: Some([a, b]), ..
                    } => !boxes
                        .iter()
                        .enumerate()
                        .any(|(j, bx)| j != i && segment_hits(*a, *b, bx)),
                    _ => true,
                }
        });
        if let Some(s) = spot {
            placed.push(s.rect());
        }
        out.push(spot);
    }
    out
}

/// Whether the segment a-b passes through `r` (sampled finely enough for marks a few px wide).
fn segment_hits(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
    (0..=16).any(|k| {
        let t = f64::from(k) / 16.0;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        x > r.x && x < r.x + r.w && y > r.y && y < r.y + r.h
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Frame = Frame {
        x: 0.0,
        y: 0.0,
        w: 400.0,
        h: 300.0,
    };

    fn mark(x: f64, y: f64) -> Mark {
        Mark {
            x,
            y,
            reach: 6.0,
            w: 14.0,
            h: 11.0,
        }
    }

    #[test]
    fn a_lone_mark_keeps_its_label_inside() {
        let spots = place(&[mark(100.0, 100.0)], |_| true, BOUNDS, &[]);
        assert!(matches!(spots[0], Some(Spot::Inside(_))));
        let spots = place(&[mark(100.0, 100.0)], |_| false, BOUNDS, &[]);
        let Some(Spot::Beside { rect, leader: None }) = spots[0] else {
            panic!("{spots:?}")
        };
        assert_eq!(rect.x, 108.0, "to the right, 2 px off the mark");
    }

    #[test]
    fn crowded_marks_never_get_overlapping_labels() {
        // 49 marks 5 px apart: far closer than a label is wide.
        let marks: Vec<Mark> = (0..49)
            .map(|i| mark(150.0 + f64::from(i % 7) * 5.0, 120.0 + f64::from(i / 7) * 5.0))
            .collect();
        let spots = place(&marks, |_| true, BOUNDS, &[]);
        let rects: Vec<Rect> = spots.iter().flatten().map(Spot::rect).collect();
        assert!(rects.len() >= 8, "some labels placed: {}", rects.len());
        assert!(rects.len() < marks.len(), "not all fit: some are left out");
        for (i, a) in rects.iter().enumerate() {
            assert!(a.within(BOUNDS));
            for b in &rects[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn labels_avoid_obstacles_and_the_frame_edge() {
        let m = mark(392.0, 150.0);
        let wall = Rect {
            x: 360.0,
            y: 130.0,
            w: 24.0,
            h: 40.0,
        };
        let spots = place(&[m], |_| false, BOUNDS, &[wall]);
        let r = spots[0].expect("placed").rect();
        assert!(r.within(BOUNDS) && !r.overlaps(&wall), "{r:?}");
        let far = Spot::Beside {
            rect: r,
            leader: None,
        };
        assert_eq!(spots[0], Some(far), "above, no leader needed");
        assert!(r.y + r.h <= 142.0, "{r:?}");
    }
}
