//! The drawing plan shared by the SVG and PNG renderers, so both show the same picture
//! and the layout rules live in one place.

mod legend;

use self::legend::legend;
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
/// Pixels per character of the bitmap font at scale 1 (5 wide + 1 gap).
pub(crate) const CHAR_W: f64 = 6.0;

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
    /// CSS pixel size for the SVG.
    pub size: f64,
    /// Integer scale of the 5x7 bitmap font for the PNG.
    pub scale: u32,
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
    pub label: Option<String>,
    /// Hover text for the SVG.
    pub tip: String,
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
    /// Font size and bitmap scale of stop numbers.
    pub num_size: f64,
    pub num_scale: u32,
    /// One entry per route, in input order.
    pub paths: Vec<PathItem>,
    pub depots: Vec<(f64, f64)>,
    pub stops: Vec<StopItem>,
    pub scale_bar: Option<ScaleBar>,
    pub swatches: Vec<(f64, f64, Swatch)>,
    /// Swatch size (radius of legend marks).
    pub swatch_r: f64,
    pub texts: Vec<Text>,
}

/// Cuts text to `max` characters with "..." so long ids cannot overflow the layout.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(3);
    s.chars().take(keep).collect::<String>() + "..."
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

fn stop_tip(s: &super::MapStop) -> String {
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
    let title_scale = 2 * m.s;
    let max_title = ((m.wf - 2.0 * m.pad) / (CHAR_W * f64::from(title_scale))) as usize;
    let mut texts = vec![Text {
        bold: true,
        ..Text::plain(
            m.pad,
            m.title_h / 2.0,
            (16.0 * m.sf, title_scale),
            INK,
            truncate(&title(routes), max_title),
        )
    }];
    let drawing = draw_routes(routes, &m, &mut texts);
    let (panel, swatches) = legend(routes, &m, &mut texts);

    let long_label = |l: &Option<String>| l.as_ref().is_some_and(|l| l.len() >= 3);
    let num_size = if drawing.stops.iter().any(|s| long_label(&s.label)) {
        m.r * 0.9
    } else {
        m.r * 1.15
    };
    Scene {
        w: m.w,
        h: m.h,
        map: m.map,
        panel,
        r: m.r,
        line_w: (m.r * 0.35).max(2.5),
        num_size,
        num_scale: if m.r >= 14.0 { 2 } else { 1 },
        paths: drawing.paths,
        depots: drawing.depots,
        stops: drawing.stops,
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
    s: u32,
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
        let s: u32 = if w.min(h) >= 1200 { 2 } else { 1 };
        let sf = f64::from(s);
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
            s,
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
    /// Regular text starting at `x`, `size` being the SVG font size and the PNG font scale.
    fn plain(x: f64, y: f64, size: (f64, u32), color: Rgb, text: String) -> Self {
        Text {
            x,
            y,
            size: size.0,
            scale: size.1,
            anchor: Anchor::Start,
            color,
            bold: false,
            text,
        }
    }
}

/// What is drawn inside the map frame.
#[derive(Default)]
struct Drawing {
    /// One entry per route, in input order.
    paths: Vec<PathItem>,
    depots: Vec<(f64, f64)>,
    stops: Vec<StopItem>,
    scale_bar: Option<ScaleBar>,
}

/// Projects the routes into the map frame; without any coordinates, says so in the frame instead.
fn draw_routes(routes: &[MapRoute], m: &Metrics, texts: &mut Vec<Text>) -> Drawing {
    let all: Vec<(f64, f64)> = routes.iter().flat_map(MapRoute::path).collect();
    if all.is_empty() {
        texts.push(Text {
            anchor: Anchor::Middle,
            ..Text::plain(
                m.map.x + m.map.w / 2.0,
                m.map.y + m.map.h / 2.0,
                (14.0 * m.sf, m.s),
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
        return Drawing {
            paths,
            ..Drawing::default()
        };
    }
    let proj = Projection::fit(&all, m);
    let mut drawing = Drawing::default();
    for (i, route) in routes.iter().enumerate() {
        let color = route_color(i);
        drawing.paths.push(PathItem {
            color,
            points: route.path().into_iter().map(|p| proj.apply(p)).collect(),
        });
        if let Some(d) = route.depot_point().map(|p| proj.apply(p))
            && !drawing.depots.contains(&d)
        {
            drawing.depots.push(d);
        }
        for (stop, p) in route.path_stops() {
            let (x, y) = proj.apply(p);
            let kind = stop.mark();
            drawing.stops.push(StopItem {
                x,
                y,
                kind,
                fill: mark_fill(kind, color),
                label: stop.stop_no.map(|n| n.to_string()),
                tip: stop_tip(stop),
            });
        }
    }
    drawing.scale_bar = Some(scale_bar(&proj, m, texts));
    drawing
}

/// Projection: equirectangular, x shrunk by cos(latitude) so distances look right, fitted to the
/// map frame less a margin for the marks.
struct Projection {
    /// Centre of the map frame.
    cx: f64,
    cy: f64,
    /// cos of the middle latitude.
    k: f64,
    /// Projected centre of the points.
    mx: f64,
    my: f64,
    /// Pixels per projected unit (one degree of arc).
    scale: f64,
}

impl Projection {
    fn fit(all: &[(f64, f64)], m: &Metrics) -> Self {
        let (map, r) = (m.map, m.r);
        let fold = |f: fn(f64, f64) -> f64, init: f64, get: fn(&(f64, f64)) -> f64| {
            all.iter().map(get).fold(init, f)
        };
        let lat0 = fold(f64::min, f64::INFINITY, |p| p.0);
        let lat1 = fold(f64::max, f64::NEG_INFINITY, |p| p.0);
        let lon0 = fold(f64::min, f64::INFINITY, |p| p.1);
        let lon1 = fold(f64::max, f64::NEG_INFINITY, |p| p.1);
        let k = ((lat0 + lat1) / 2.0).to_radians().cos().max(0.01);
        let inset = r * 1.6 + 4.0;
        let iw = (map.w - 2.0 * inset).max(1.0);
        let ih = (map.h - 2.0 * inset).max(1.0);
        let span_x = ((lon1 - lon0) * k).max(MIN_SPAN_DEG);
        let span_y = (lat1 - lat0).max(MIN_SPAN_DEG);
        Self {
            cx: map.x + map.w / 2.0,
            cy: map.y + map.h / 2.0,
            k,
            mx: (lon0 + lon1) / 2.0 * k,
            my: (lat0 + lat1) / 2.0,
            scale: (iw / span_x).min(ih / span_y),
        }
    }

    /// The pixel position of (lat, lon).
    fn apply(&self, p: (f64, f64)) -> (f64, f64) {
        (
            self.cx + (p.1 * self.k - self.mx) * self.scale,
            self.cy - (p.0 - self.my) * self.scale,
        )
    }
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
        (12.0 * m.sf, m.s),
        INK,
        fmt_km(nice),
    ));
    bar
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
    fn truncate_keeps_short_text() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdefgh", 6), "abc...");
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
