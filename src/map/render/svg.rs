//! Standalone SVG drawing (no tiles) for reports and quick review.
//!
//! Text stays `<text>` (searchable, selectable); the viewer's fonts draw it, the embedded Noto
//! families named first so a viewer that has them matches the PNG.

use std::fmt::Write;

use super::MapRoute;
use super::MarkKind;
use super::font::SVG_FAMILIES;
use super::layout::{
    self, Anchor, DEPOT_FILL, FRAME, INK, LABEL_BOX, LABEL_BOX_ALPHA, MAP_BG, Rgb, Scene, Swatch, Text, WHITE,
};

/// Escapes text for XML content and attributes, replacing characters XML 1.0 forbids so
/// any customer name yields a well-formed document.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

fn poly_points(pts: &[(f64, f64)]) -> String {
    let mut o = String::new();
    for (i, (x, y)) in pts.iter().enumerate() {
        if i > 0 {
            o.push(' ');
        }
        let _ = write!(o, "{x:.1},{y:.1}");
    }
    o
}

fn closed_path(pts: &[(f64, f64)]) -> String {
    format!("M{}Z", poly_points(pts).replace(' ', " L"))
}

/// One marker; shared by map stops and legend swatches so they always match.
fn mark(o: &mut String, kind: MarkKind, fill: Rgb, x: f64, y: f64, r: f64) {
    let edge = layout::mark_edge(kind).hex();
    let sw = (r / 6.0).max(1.2);
    match kind {
        MarkKind::Added => {
            let _ = write!(
                o,
                r#"<path d="{}" fill="{}" stroke="{edge}" stroke-width="{sw:.1}"/>"#,
                closed_path(&layout::diamond(x, y, r)),
                fill.hex()
            );
        }
        _ => {
            let _ = write!(
                o,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{}" stroke="{edge}" stroke-width="{sw:.1}"/>"#,
                fill.hex()
            );
        }
    }
}

fn depot(o: &mut String, x: f64, y: f64, d: f64) {
    let _ = write!(
        o,
        r#"<path class="depot" d="{}" fill="{}" stroke="{}" stroke-width="1.5"/>"#,
        closed_path(&layout::house(x, y, d)),
        DEPOT_FILL.hex(),
        WHITE.hex()
    );
}

fn text(o: &mut String, t: &Text) {
    let anchor = match t.anchor {
        Anchor::Start => "",
        Anchor::Middle => r#" text-anchor="middle""#,
    };
    let bold = if t.bold { r#" font-weight="bold""# } else { "" };
    let _ = write!(
        o,
        r#"<text x="{:.1}" y="{:.1}" font-size="{:.1}" fill="{}" dominant-baseline="central"{anchor}{bold}>{}</text>"#,
        t.x,
        t.y,
        t.size,
        t.color.hex(),
        xml_escape(&t.text)
    );
}

fn draw(sc: &Scene, routes: &[MapRoute]) -> String {
    let mut o = String::with_capacity(4096 + sc.stops.len() * 300);
    open_document(&mut o, sc);
    route_lines(&mut o, sc, routes);
    depot_marks(&mut o, sc);
    depot_pointers(&mut o, sc);
    stop_marks(&mut o, sc);
    labels(&mut o, sc);
    scale_bar(&mut o, sc);
    legend(&mut o, sc);
    for t in &sc.texts {
        text(&mut o, t);
    }
    o.push_str("</svg>\n");
    o
}

/// The root element, the title (the first text) and the backgrounds of the canvas and the map.
fn open_document(o: &mut String, sc: &Scene) {
    let (w, h) = (sc.w, sc.h);
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{SVG_FAMILIES}">"#
    );
    let title = sc.texts.first().map(|t| t.text.as_str()).unwrap_or("");
    let _ = write!(o, "<title>{}</title>", xml_escape(title));
    let _ = write!(o, r#"<rect width="{w}" height="{h}" fill="{}"/>"#, WHITE.hex());
    let m = sc.map;
    let _ = write!(
        o,
        r#"<rect class="map" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="{}"/>"#,
        m.x,
        m.y,
        m.w,
        m.h,
        MAP_BG.hex(),
        FRAME.hex()
    );
}

/// One polyline per route, tagged with its agent and date.
fn route_lines(o: &mut String, sc: &Scene, routes: &[MapRoute]) {
    o.push_str(r#"<g class="paths" fill="none" stroke-linejoin="round" stroke-linecap="round">"#);
    for (p, r) in sc.paths.iter().zip(routes) {
        let _ = write!(
            o,
            r#"<polyline data-agent="{}" data-date="{}" points="{}" stroke="{}" stroke-width="{:.1}" stroke-opacity="0.85"/>"#,
            xml_escape(&r.agent_id),
            xml_escape(&r.route_date),
            poly_points(&p.points),
            p.color.hex(),
            sc.line_w
        );
    }
    o.push_str("</g>");
}

fn depot_marks(o: &mut String, sc: &Scene) {
    o.push_str(r#"<g class="depots">"#);
    for &(x, y) in &sc.depots {
        depot(o, x, y, sc.r * 1.1);
    }
    o.push_str("</g>");
}

/// A far depot's arrow at the frame's edge; its distance is among the labels.
fn depot_pointers(o: &mut String, sc: &Scene) {
    for p in &sc.pointers {
        let _ = write!(
            o,
            r#"<g class="depot-pointer"><title>depot {:.1} km from the middle of the map</title><path d="{}" fill="{}" stroke="{}" stroke-width="1"/></g>"#,
            p.km,
            closed_path(&p.outline),
            DEPOT_FILL.hex(),
            WHITE.hex()
        );
    }
}

/// Each stop's mark, with its description as hover text.
fn stop_marks(o: &mut String, sc: &Scene) {
    o.push_str(r#"<g class="stops">"#);
    for s in &sc.stops {
        let class = match s.kind {
            MarkKind::Customer => "customer",
            MarkKind::Added => "added",
            MarkKind::Other => "other",
        };
        let _ = write!(
            o,
            r#"<g class="stop {class}"><title>{}</title>"#,
            xml_escape(&s.tip)
        );
        mark(o, s.kind, s.fill, s.x, s.y, sc.r);
        o.push_str("</g>");
    }
    o.push_str("</g>");
}

/// The placed labels; each `<text>` carries its box (`data-box="x y w h"`), which no other
/// label's box overlaps.
fn labels(o: &mut String, sc: &Scene) {
    o.push_str(r#"<g class="labels" text-anchor="middle">"#);
    let box_alpha = f64::from(LABEL_BOX_ALPHA) / 255.0;
    for l in &sc.labels {
        let r = l.rect;
        if let Some([a, b]) = l.leader {
            let _ = write!(
                o,
                r#"<path class="leader" d="M{:.1},{:.1} L{:.1},{:.1}" stroke="{}" stroke-opacity="0.8"/>"#,
                a.0,
                a.1,
                b.0,
                b.1,
                INK.hex()
            );
        }
        if l.boxed {
            let _ = write!(
                o,
                r#"<rect class="label-box" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="{box_alpha:.2}"/>"#,
                r.x,
                r.y,
                r.w,
                r.h,
                LABEL_BOX.hex()
            );
        }
        let (x, y) = r.centre();
        let _ = write!(
            o,
            r#"<text class="label" data-box="{:.2} {:.2} {:.2} {:.2}" x="{x:.1}" y="{y:.1}" font-size="{:.1}" dominant-baseline="central" fill="{}">{}</text>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            l.size,
            l.color.hex(),
            xml_escape(&l.text)
        );
    }
    o.push_str("</g>");
}

fn scale_bar(o: &mut String, sc: &Scene) {
    if let Some(b) = &sc.scale_bar {
        let _ = write!(
            o,
            r#"<path class="scale-bar" d="M{:.1},{:.1} V{:.1} H{:.1} V{:.1}" fill="none" stroke="{}" stroke-width="2"/>"#,
            b.x,
            b.y - b.tick,
            b.y,
            b.x + b.len,
            b.y - b.tick,
            INK.hex()
        );
    }
}

/// The legend's box and swatches; its texts are drawn with the others.
fn legend(o: &mut String, sc: &Scene) {
    let p = sc.panel;
    let _ = write!(
        o,
        r#"<g class="legend"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="4" fill="{}" stroke="{}"/>"#,
        p.x,
        p.y,
        p.w,
        p.h,
        WHITE.hex(),
        FRAME.hex()
    );
    for &(x, y, sw) in &sc.swatches {
        match sw {
            Swatch::Mark(kind, fill) => mark(o, kind, fill, x, y, sc.swatch_r),
            Swatch::Depot => depot(o, x, y, sc.swatch_r),
            Swatch::Line(c) => {
                let _ = write!(
                    o,
                    r#"<path d="M{:.1},{y:.1} H{:.1}" stroke="{}" stroke-width="{:.1}"/>"#,
                    x - sc.swatch_r * 1.3,
                    x + sc.swatch_r * 1.3,
                    c.hex(),
                    sc.line_w
                );
            }
        }
    }
    o.push_str("</g>");
}

/// Draws the routes as an SVG document of `width` x `height` pixels.
///
/// Sizes are clamped to 240x180..8192x8192 so the layout always fits. Numbers are
/// written with one decimal, so the same routes always give the same bytes.
pub fn svg(routes: &[MapRoute], width: u32, height: u32) -> String {
    draw(&layout::scene(routes, width, height), routes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testdata::routes;
    use super::*;

    /// Checks that every element is closed in order; enough to catch broken markup.
    pub(crate) fn assert_balanced(doc: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = doc;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').expect("unterminated tag");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            assert!(!tag.contains('<'), "raw '<' inside tag: {tag}");
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().expect("close without open");
                assert_eq!(open, name.trim(), "mismatched close");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap().to_string();
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    #[test]
    fn well_formed_with_one_polyline_per_route() {
        let rs = routes();
        let doc = svg(&rs, 800, 600);
        assert!(doc.starts_with("<svg "));
        assert_balanced(&doc);
        assert_eq!(doc.matches("<polyline").count(), rs.len());
        assert_eq!(svg(&rs[..1], 800, 600).matches("<polyline").count(), 1);
    }

    #[test]
    fn numbered_stops_marks_legend_scale_and_title() {
        let rs = routes();
        let doc = svg(&rs[..1], 800, 600);
        for n in 1..=4 {
            assert!(doc.contains(&format!(">{n}</text>")), "label {n}");
        }
        assert!(!doc.contains(">100</text>"), "unplaced stop drawn");
        assert_eq!(doc.matches(r#"class="stop "#).count(), 4);
        assert_eq!(doc.matches(r#"class="stop customer""#).count(), 2);
        assert_eq!(doc.matches(r#"class="stop added""#).count(), 1);
        assert_eq!(doc.matches(r#"class="stop other""#).count(), 1);
        assert!(doc.contains(r#"class="depot""#));
        for word in ["customer", "added prospect", "other", "depot"] {
            assert!(doc.contains(&format!(">{word}</text>")), "legend {word}");
        }
        assert!(doc.contains(r#"class="scale-bar""#));
        assert!(doc.contains(" km</text>"));
        assert!(doc.contains("D01 / agent A7 / 2026-12-01"));
        assert!(svg(&rs, 800, 600).contains(">2 routes / "));
    }

    #[test]
    fn text_is_escaped() {
        let mut rs = routes();
        rs[0].agent_id = "A<7>&\u{1}".into();
        let doc = svg(&rs, 800, 600);
        assert_balanced(&doc);
        assert!(doc.contains("Sari-sari &lt;&amp;&gt; &quot;Aling&quot; &lt;/script&gt;"));
        assert!(!doc.contains("<&>"));
        assert!(!doc.contains("</script>"));
        assert!(doc.contains("A&lt;7&gt;&amp;\u{fffd}"));
    }

    #[test]
    fn names_with_markup_accents_and_cjk_stay_text() {
        let mut rs = routes();
        rs.truncate(1);
        rs[0].stops[0].name = Some(r#"<&"' Ñ 東京"#.into());
        let doc = svg(&rs, 800, 600);
        assert_balanced(&doc);
        assert!(doc.contains(r#"font-family="'Noto Sans', 'Noto Sans CJK JP', "#));
        assert!(
            doc.contains(">2 &lt;&amp;&quot;&apos; Ñ 東京</text>"),
            "the stop key"
        );
        assert!(doc.contains("<title>#2 C002 &lt;&amp;&quot;&apos; Ñ 東京 (customer)</title>"));
        assert!(!doc.contains(r#"<&"'"#));
    }

    #[test]
    fn each_label_carries_its_box_and_a_far_depot_its_arrow() {
        let route = super::super::layout::drawing_tests::dense_route();
        let sc = layout::scene(std::slice::from_ref(&route), 1200, 900);
        let doc = svg(std::slice::from_ref(&route), 1200, 900);
        assert_balanced(&doc);
        assert_eq!(
            doc.matches(r#"<text class="label" data-box=""#).count(),
            sc.labels.len()
        );
        let boxed = sc.labels.iter().filter(|l| l.boxed).count();
        assert_eq!(doc.matches(r#"class="label-box""#).count(), boxed);
        assert_eq!(doc.matches(r#"class="depot-pointer""#).count(), 1);
        assert!(
            doc.contains(r#"<g class="depots"></g>"#),
            "no depot drawn in place"
        );
        assert!(doc.contains(">depot 9."), "the arrow's distance");
    }

    #[test]
    fn deterministic_and_handles_empty() {
        let rs = routes();
        assert_eq!(svg(&rs, 640, 480), svg(&rs, 640, 480));
        let empty = svg(&[], 0, 0);
        assert_balanced(&empty);
        assert!(empty.contains("no routes"));
        assert!(empty.contains(r#"width="240""#));
        let mut blind = routes();
        for r in &mut blind {
            r.depot = (f64::NAN, 0.0);
            r.stops.iter_mut().for_each(|s| s.lat = None);
        }
        let doc = svg(&blind, 800, 600);
        assert_balanced(&doc);
        assert_eq!(doc.matches("<polyline").count(), 2);
        assert!(doc.contains("no coordinates to draw"));
        assert!(!doc.contains("NaN"));
    }
}
