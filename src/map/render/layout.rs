//! The drawing plan shared by the SVG and PNG renderers, so both show the same picture
//! and the layout rules live in one place.

mod drawing;
#[cfg(test)]
pub(crate) use self::drawing::tests as drawing_tests;
mod fit;
mod labels;
mod legend;
mod pointer;

use self::drawing::draw_routes;
pub(crate) use self::labels::Rect;
use self::legend::legend;
pub(crate) use self::pointer::Pointer;
use super::font;
use super::{MapRoute, MarkKind};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub(crate) fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Route colours; none is orange or grey, which are reserved for added prospects and
/// "other" stops.
pub(crate) const PALETTE: [Rgb; 10] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x17, 0xa2, 0xb8),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x9a, 0x9b, 0x1c),
    Rgb(0x39, 0x3b, 0x79),
    Rgb(0x63, 0x79, 0x39),
];
pub(crate) const ADDED_FILL: Rgb = Rgb(0xff, 0x7f, 0x0e);
pub(crate) const ADDED_EDGE: Rgb = Rgb(0x8a, 0x3d, 0x00);
pub(crate) const OTHER_FILL: Rgb = Rgb(0x8c, 0x8c, 0x8c);
pub(crate) const DEPOT_FILL: Rgb = Rgb(0x22, 0x22, 0x22);
pub(crate) const INK: Rgb = Rgb(0x22, 0x22, 0x22);
pub(crate) const MUTED: Rgb = Rgb(0x66, 0x66, 0x66);
pub(crate) const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
pub(crate) const MAP_BG: Rgb = Rgb(0xf6, 0xf8, 0xfa);
pub(crate) const FRAME: Rgb = Rgb(0xd0, 0xd4, 0xd8);

/// Smallest size that still fits title, legend and a usable map.
pub(crate) const MIN_W: u32 = 240;
pub(crate) const MIN_H: u32 = 180;
/// Largest side, so a bad argument cannot allocate gigabytes of pixels.
pub(crate) const MAX_SIDE: u32 = 8192;
/// Smallest bounding box side in degrees (~0.5 km), so one stop does not zoom forever.
const MIN_SPAN_DEG: f64 = 0.005;
/// Background of the boxes behind labels beside their marks, drawn at [`LABEL_BOX_ALPHA`].
pub(crate) const LABEL_BOX: Rgb = WHITE;
pub(crate) const LABEL_BOX_ALPHA: u8 = 235;

pub(crate) fn route_color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

pub(crate) fn mark_fill(kind: MarkKind, route: Rgb) -> Rgb {
    match kind {
        MarkKind::Customer => route,
        MarkKind::Added => ADDED_FILL,
        MarkKind::Other => OTHER_FILL,
    }
}

pub(crate) fn mark_edge(kind: MarkKind) -> Rgb {
    match kind {
        MarkKind::Added => ADDED_EDGE,
        _ => WHITE,
    }
}

/// Number colour; dark on orange because white on orange is hard to read.
pub(crate) fn mark_ink(kind: MarkKind) -> Rgb {
    match kind {
        MarkKind::Added => INK,
        _ => WHITE,
    }
}

pub(crate) fn clamp_size(w: u32, h: u32) -> (u32, u32) {
    (w.clamp(MIN_W, MAX_SIDE), h.clamp(MIN_H, MAX_SIDE))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
}

/// A text run; `y` is the vertical middle so both renderers centre it the same way.
#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub x: f64,
    pub y: f64,
    /// Font size in px.
    pub size: f64,
    pub anchor: Anchor,
    pub color: Rgb,
    pub bold: bool,
    pub text: String,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    Mark(MarkKind, Rgb),
    Depot,
    Line(Rgb),
}

#[derive(Debug, Clone)]
pub(crate) struct PathItem {
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct StopItem {
    pub x: f64,
    pub y: f64,
    pub kind: MarkKind,
    pub fill: Rgb,
    /// Hover text for the SVG.
    pub tip: String,
}

/// A placed label: a stop's number, or a far depot's distance. No two labels' boxes overlap.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    /// The box the label owns; its text is centred in it.
    pub rect: Rect,
    pub text: String,
    pub size: f64,
    pub color: Rgb,
    /// Drawn on a [`LABEL_BOX`] (beside a mark) rather than inside the mark.
    pub boxed: bool,
    /// A line from the mark to a label that stands off from it.
    pub leader: Option<[(f64, f64); 2]>,
}

#[derive(Debug, Clone)]
pub(crate) struct ScaleBar {
    pub x: f64,
    pub y: f64,
    pub len: f64,
    pub tick: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub w: u32,
    pub h: u32,
    pub map: Frame,
    pub panel: Frame,
    /// Stop marker radius.
    pub r: f64,
    pub line_w: f64,
    /// One entry per route, in input order; a far depot's leg is cut at the frame.
    pub paths: Vec<PathItem>,
    /// Depots drawn in place.
    pub depots: Vec<(f64, f64)>,
    /// Depots outside the frame (fitted to the stops), shown by an arrow at its edge.
    pub pointers: Vec<Pointer>,
    pub stops: Vec<StopItem>,
    /// Stop numbers and pointer distances, none overlapping another.
    pub labels: Vec<Label>,
    pub scale_bar: Option<ScaleBar>,
    pub swatches: Vec<(f64, f64, Swatch)>,
    /// Swatch size (radius of legend marks).
    pub swatch_r: f64,
    pub texts: Vec<Text>,
}

/// Largest 1/2/5 x 10^k not above `x`, so the scale bar reads as a round figure.
pub(crate) fn nice_floor(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let e = 10f64.powi(x.log10().floor() as i32);
    let f = x / e;
    let m = if f >= 5.0 {
        5.0
    } else if f >= 2.0 {
        2.0
    } else {
        1.0
    };
    m * e
}

pub(crate) fn fmt_km(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0} km")
    } else {
        let s = format!("{v:.3}");
        format!("{} km", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// Title shared by all renderers: the route itself when there is one, totals otherwise.
pub(crate) fn title(routes: &[MapRoute]) -> String {
    let stops: usize = routes.iter().map(|r| r.stops.len()).sum();
    let unplaced: usize = routes
        .iter()
        .map(|r| r.stops.iter().filter(|s| s.position().is_none()).count())
        .sum();
    let km: f64 = routes.iter().map(MapRoute::km).sum();
    let unplaced = if unplaced > 0 {
        format!(" ({unplaced} unplaced)")
    } else {
        String::new()
    };
    match routes {
        [] => "no routes".to_string(),
        [r] => format!(
            "{} / agent {} / {} / {stops} stops{unplaced} / {km:.1} km",
            r.distributor_id, r.agent_id, r.route_date
        ),
        _ => format!("{} routes / {stops} stops{unplaced} / {km:.1} km", routes.len()),
    }
}

pub(crate) fn stop_tip(s: &super::MapStop) -> String {
    let mut t = String::new();
    if let Some(n) = s.stop_no {
        t.push_str(&format!("#{n} "));
    }
    t.push_str(&s.cust_no);
    if let Some(name) = &s.name {
        t.push(' ');
        t.push_str(name);
    }
    if let Some(ty) = &s.custype {
        t.push_str(&format!(" ({ty})"));
    }
    if s.added {
        t.push_str(" added");
    }
    t
}

/// Lays out the whole picture for a `w` x `h` canvas (clamped to sane bounds).
pub(crate) fn scene(routes: &[MapRoute], w: u32, h: u32) -> Scene {
    let m = Metrics::new(w, h);
    let title_size = 16.0 * m.sf;
    let mut texts = vec![Text {
        bold: true,
        ..Text::plain(
            m.pad,
            m.title_h / 2.0,
            title_size,
            INK,
            font::fit(&title(routes), title_size, m.wf - 2.0 * m.pad),
        )
    }];
    let drawing = draw_routes(routes, &m, &mut texts);
    let (panel, swatches) = legend(routes, &m, &mut texts);
    Scene {
        w: m.w,
        h: m.h,
        map: m.map,
        panel,
        r: m.r,
        line_w: (m.r * 0.35).max(2.5),
        paths: drawing.paths,
        depots: drawing.depots,
        pointers: drawing.pointers,
        stops: drawing.stops,
        labels: drawing.labels,
        scale_bar: drawing.scale_bar,
        swatches,
        swatch_r: 6.0 * m.sf,
        texts,
    }
}

/// The sizes that follow from the canvas alone.
struct Metrics {
    w: u32,
    h: u32,
    wf: f64,
    /// Scale of text and spacing: 2 on large canvases, so they stay readable.
    sf: f64,
    pad: f64,
    title_h: f64,
    bottom_h: f64,
    panel_w: f64,
    map: Frame,
    /// Stop marker radius.
    r: f64,
}

impl Metrics {
    fn new(w: u32, h: u32) -> Self {
        let (w, h) = clamp_size(w, h);
        let (wf, hf) = (f64::from(w), f64::from(h));
        let sf = if w.min(h) >= 1200 { 2.0 } else { 1.0 };
        let pad = 12.0 * sf;
        let title_h = 36.0 * sf;
        let bottom_h = 34.0 * sf;
        let panel_w = (wf * 0.24).clamp(130.0 * sf, 230.0 * sf).min(wf * 0.4);
        let map = Frame {
            x: pad,
            y: title_h,
            w: wf - panel_w - 2.0 * pad,
            h: hf - title_h - bottom_h,
        };
        Self {
            w,
            h,
            wf,
            sf,
            pad,
            title_h,
            bottom_h,
            panel_w,
            map,
            r: (wf.min(hf) / 70.0).clamp(7.0, 16.0),
        }
    }
}

impl Text {
    /// Regular text starting at `x`, `size` px high.
    fn plain(x: f64, y: f64, size: f64, color: Rgb, text: String) -> Self {
        Text {
            x,
            y,
            size,
            anchor: Anchor::Start,
            color,
            bold: false,
            text,
        }
    }
}

/// Length of one degree of arc on the sphere used for distances.
pub(crate) const EARTH_KM_PER_DEG: f64 = super::EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

/// Outline of the depot "house" centred on (x, y) with half-size `d`.
pub(crate) fn house(x: f64, y: f64, d: f64) -> [(f64, f64); 5] {
    [
        (x - d, y + d),
        (x + d, y + d),
        (x + d, y - 0.15 * d),
        (x, y - 1.15 * d),
        (x - d, y - 0.15 * d),
    ]
}

/// Outline of the added-prospect diamond centred on (x, y) with marker radius `r`.
pub(crate) fn diamond(x: f64, y: f64, r: f64) -> [(f64, f64); 4] {
    let d = r * 1.25;
    [(x, y - d), (x + d, y), (x, y + d), (x - d, y)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers_are_round() {
        assert_eq!(nice_floor(7.3), 5.0);
        assert_eq!(nice_floor(2.0), 2.0);
        assert_eq!(nice_floor(19.0), 10.0);
        assert_eq!(fmt_km(nice_floor(0.07)), "0.05 km");
        assert_eq!(fmt_km(nice_floor(0.3)), "0.2 km");
        assert_eq!(fmt_km(nice_floor(1234.0)), "1000 km");
    }

    #[test]
    fn scene_fits_points_inside_map() {
        let routes = super::super::testdata::routes();
        let sc = scene(&routes, 800, 600);
        assert_eq!(sc.paths.len(), 2);
        assert_eq!(sc.stops.len(), 6);
        for s in &sc.stops {
            assert!(s.x > sc.map.x && s.x < sc.map.x + sc.map.w, "{}", s.x);
            assert!(s.y > sc.map.y && s.y < sc.map.y + sc.map.h, "{}", s.y);
        }
        let bar = sc.scale_bar.expect("scale bar");
        assert!(bar.len > 10.0 && bar.len <= sc.map.w * 0.25 + 1e-9);
    }
}
