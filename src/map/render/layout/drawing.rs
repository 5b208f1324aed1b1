//! What is drawn inside the map frame: paths, marks, depots or their pointers, the labels, and
//! the scale bar below.

use super::fit::{Projection, edge_point, fit_to_stops};
use super::labels::{self, Mark, Spot};
use super::pointer::{self, Pointer};
use super::{
    Anchor, EARTH_KM_PER_DEG, Frame, INK, Label, MUTED, Metrics, PathItem, ScaleBar, StopItem, Text, fmt_km,
    mark_fill, mark_ink, nice_floor, route_color, stop_tip,
};
use crate::map::render::{MapRoute, MarkKind, font};

#[derive(Default)]
pub(super) struct Drawing {
    /// One entry per route, in input order.
    pub paths: Vec<PathItem>,
    pub depots: Vec<(f64, f64)>,
    pub pointers: Vec<Pointer>,
    pub stops: Vec<StopItem>,
    pub labels: Vec<Label>,
    pub scale_bar: Option<ScaleBar>,
}

/// Projects the routes into the map frame, fitted to the stops; without any coordinates, says so
/// in the frame instead.
pub(super) fn draw_routes(routes: &[MapRoute], m: &Metrics, texts: &mut Vec<Text>) -> Drawing {
    let stops: Vec<(f64, f64)> = routes
        .iter()
        .flat_map(|r| r.path_stops().into_iter().map(|(_, p)| p))
        .collect();
    let mut depots: Vec<(f64, f64)> = Vec::new();
    for d in routes.iter().filter_map(MapRoute::depot_point) {
        if !depots.contains(&d) {
            depots.push(d);
        }
    }
    if stops.is_empty() && depots.is_empty() {
        return no_coordinates(routes, m, texts);
    }
    let inset = m.r * 1.6 + 4.0;
    let inner = Frame {
        x: m.map.x + inset,
        y: m.map.y + inset,
        w: (m.map.w - 2.0 * inset).max(1.0),
        h: (m.map.h - 2.0 * inset).max(1.0),
    };
    let (proj, kept) = fit_to_stops(&stops, &depots, inner);
    let mut drawing = Drawing::default();
    for (d, keep) in depots.iter().zip(&kept) {
        if *keep {
            drawing.depots.push(proj.apply(*d));
        } else {
            drawing
                .pointers
                .push(pointer::pointer(m.map, &proj, *d, m.r * 3.0));
        }
    }
    for (i, route) in routes.iter().enumerate() {
        let color = route_color(i);
        let mut points: Vec<(f64, f64)> = route.path().into_iter().map(|p| proj.apply(p)).collect();
        // Only a far depot lies outside the frame, and it is the path's first point.
        if points.len() >= 2 && !super::fit::contains(m.map, points[0], 0.5) {
            points[0] = edge_point(m.map, points[1], points[0]);
        }
        drawing.paths.push(PathItem { color, points });
        for (stop, p) in route.path_stops() {
            let (x, y) = proj.apply(p);
            let kind = stop.mark();
            drawing.stops.push(StopItem {
                x,
                y,
                kind,
                fill: mark_fill(kind, color),
                tip: stop_tip(stop),
            });
        }
    }
    let numbers: Vec<String> = routes
        .iter()
        .flat_map(|r| r.path_stops())
        .map(|(s, _)| s.stop_no.map(|n| n.to_string()).unwrap_or_default())
        .collect();
    drawing.labels = place_labels(&drawing, &numbers, m);
    drawing.scale_bar = Some(scale_bar(&proj, m, texts));
    drawing
}

fn no_coordinates(routes: &[MapRoute], m: &Metrics, texts: &mut Vec<Text>) -> Drawing {
    texts.push(Text {
        anchor: Anchor::Middle,
        ..Text::plain(
            m.map.x + m.map.w / 2.0,
            m.map.y + m.map.h / 2.0,
            14.0 * m.sf,
            MUTED,
            "no coordinates to draw".to_string(),
        )
    });
    // Still one (empty) path per route, so consumers can rely on the count.
    let paths = (0..routes.len())
        .map(|i| PathItem {
            color: route_color(i),
            points: Vec::new(),
        })
        .collect();
    Drawing {
        paths,
        ..Drawing::default()
    }
}

/// Size of stop numbers: a little above the mark's radius, and never below a readable 10 px.
pub(crate) fn number_size(r: f64) -> f64 {
    (r * 1.05).max(10.0)
}

/// Label box of `text` at `size` px: its width with a little room, and a height that holds
/// digits (or, `tall`, ascenders and descenders too).
fn label_box(text: &str, size: f64, tall: bool) -> (f64, f64) {
    let h = if tall { 1.3 } else { 1.0 };
    (font::width(text, size) + 4.0, size * h)
}

/// Places the pointers' distances first (there are few, and they matter), then the stop numbers in
/// visiting order, so that no two labels overlap and none covers another mark.
fn place_labels(d: &Drawing, numbers: &[String], m: &Metrics) -> Vec<Label> {
    let num_size = number_size(m.r);
    let text_size = 12.0 * m.sf;
    let pointer_texts: Vec<String> = d.pointers.iter().map(|p| pointer::label(p.km)).collect();
    let mut marks = Vec::with_capacity(d.pointers.len() + d.stops.len());
    for (p, text) in d.pointers.iter().zip(&pointer_texts) {
        let (w, h) = label_box(text, text_size, true);
        let (x, y) = p.middle;
        marks.push(Mark {
            x,
            y,
            reach: p.reach,
            w,
            h,
        });
    }
    for (s, text) in d.stops.iter().zip(numbers) {
        let (w, h) = label_box(text, num_size, false);
        let reach = match s.kind {
            MarkKind::Added => m.r * 1.3,
            _ => m.r * 1.1,
        };
        marks.push(Mark {
            x: s.x,
            y: s.y,
            reach,
            w,
            h,
        });
    }
    let np = d.pointers.len();
    // A number fits in a circle whose inner square holds it; diamonds are as roomy.
    let inside = |i: usize| i >= np && marks[i].w <= m.r * 1.75 && marks[i].h <= m.r * 1.5;
    let spots = labels::place(&marks, inside, m.map, &[]);
    let texts = pointer_texts.iter().chain(numbers);
    let kinds = d
        .pointers
        .iter()
        .map(|_| None)
        .chain(d.stops.iter().map(|s| Some(s.kind)));
    spots
        .into_iter()
        .zip(texts.zip(kinds))
        .filter_map(|(spot, (text, kind))| {
            let spot = spot.filter(|_| !text.is_empty())?;
            let size = if kind.is_some() { num_size } else { text_size };
            let (rect, boxed, leader, color) = match spot {
                Spot::Inside(r) => (r, false, None, kind.map_or(INK, mark_ink)),
                Spot::Beside { rect, leader } => (rect, true, leader, INK),
            };
            Some(Label {
                rect,
                text: text.clone(),
                size,
                color,
                boxed,
                leader,
            })
        })
        .collect()
}

/// A scale bar of a round length near a quarter of the map's width, below the map, and its label.
fn scale_bar(proj: &Projection, m: &Metrics, texts: &mut Vec<Text>) -> ScaleBar {
    // A projected unit is one degree of arc.
    let km_per_px = EARTH_KM_PER_DEG / proj.scale;
    let nice = nice_floor(km_per_px * m.map.w * 0.25);
    let len = nice / km_per_px;
    let bar = ScaleBar {
        x: m.map.x + 4.0 * m.sf,
        y: m.map.y + m.map.h + m.bottom_h / 2.0,
        len,
        tick: 5.0 * m.sf,
    };
    texts.push(Text::plain(
        bar.x + len + 6.0 * m.sf,
        bar.y,
        12.0 * m.sf,
        INK,
        fmt_km(nice),
    ));
    bar
}

/// Whether any two of `rects` share area: what [`place_labels`] must never produce.
#[cfg(test)]
pub(crate) fn any_overlap(rects: &[super::Rect]) -> Option<(super::Rect, super::Rect)> {
    rects
        .iter()
        .enumerate()
        .find_map(|(i, a)| rects[i + 1..].iter().find(|b| a.overlaps(b)).map(|b| (*a, *b)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{Rect, scene};
    use super::*;
    use crate::map::render::MapStop;
    use crate::map::render::testdata::stop;

    /// A 60-stop route like the fixtures' D001-A02: most stops spread over ~3 km, a dozen in a
    /// knot ~100 m across, every third an added prospect, and the depot 9 km to the south.
    pub(crate) fn dense_route() -> MapRoute {
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let stops: Vec<MapStop> = (0..60)
            .map(|i| {
                let f = f64::from(i);
                let (r, c) = if i % 5 == 0 {
                    (0.0008, (14.600, 121.000))
                } else {
                    (0.014 * (f / 60.0).sqrt(), (14.605, 121.004))
                };
                let ll = (c.0 + r * (f * golden).sin(), c.1 + r * (f * golden).cos());
                let ty = if i % 7 == 3 { "unknown" } else { "customer" };
                let mut s = stop(&format!("C{i:03}"), Some(i + 1), Some(ll), ty);
                s.added = i % 3 == 1;
                s
            })
            .collect();
        MapRoute {
            distributor_id: "D001".into(),
            agent_id: "D001-A02".into(),
            route_date: "2026-12-01".into(),
            depot: (14.520, 121.000),
            stops,
        }
    }

    #[test]
    fn a_dense_route_gets_labels_that_never_overlap() {
        for (w, h) in [(1200, 900), (640, 480), (2400, 1800)] {
            let sc = scene(&[dense_route()], w, h);
            let rects: Vec<Rect> = sc.labels.iter().map(|l| l.rect).collect();
            assert_eq!(any_overlap(&rects), None, "{w}x{h}");
            let numbers = sc.labels.iter().filter(|l| l.size == number_size(sc.r));
            assert!(numbers.count() >= 40, "{w}x{h}: most stops keep their number");
            for l in &sc.labels {
                let f = sc.map;
                let r = l.rect;
                assert!(r.x >= f.x && r.y >= f.y && r.x + r.w <= f.x + f.w && r.y + r.h <= f.y + f.h);
                if l.boxed {
                    // Beside its mark: clear of every mark's circle, its own included.
                    for s in &sc.stops {
                        let dx = (r.x - s.x).max(s.x - (r.x + r.w)).max(0.0);
                        let dy = (r.y - s.y).max(s.y - (r.y + r.h)).max(0.0);
                        assert!(dx.hypot(dy) >= sc.r, "{w}x{h}: {} covers a mark", l.text);
                    }
                }
            }
        }
    }

    #[test]
    fn the_frame_fits_the_stops_and_points_at_a_far_depot() {
        let sc = scene(&[dense_route()], 1200, 900);
        assert!(sc.depots.is_empty(), "the depot is not drawn in place");
        assert_eq!(sc.pointers.len(), 1);
        let arrow = &sc.pointers[0];
        assert!((arrow.km - 9.3).abs() < 0.5, "{}", arrow.km);
        let tip = arrow.outline[0];
        assert!(tip.1 > sc.map.y + sc.map.h * 0.9, "pointing south: {tip:?}");
        assert!(sc.labels.iter().any(|l| l.text == pointer::label(arrow.km)));
        let xs = || sc.stops.iter().map(|s| s.x);
        let ys = || sc.stops.iter().map(|s| s.y);
        let span = |v: Vec<f64>| {
            v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
        };
        let fill = (span(xs().collect()) / sc.map.w).max(span(ys().collect()) / sc.map.h);
        assert!(fill > 0.85, "stops fill {fill:.2} of the frame");
        let start = sc.paths[0].points[0];
        assert!(
            (start.1 - (sc.map.y + sc.map.h)).abs() < 1e-6,
            "the leg is cut at the edge: {start:?}"
        );
    }

    #[test]
    fn a_depot_among_the_stops_stays_in_place() {
        let sc = scene(&crate::map::render::testdata::routes(), 800, 600);
        assert_eq!(sc.depots.len(), 1);
        assert!(sc.pointers.is_empty());
        assert_eq!(sc.paths[0].points[0], sc.depots[0]);
    }
}
