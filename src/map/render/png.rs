//! Raster version of the SVG drawing, for chat apps and spreadsheets that cannot show SVG.
//!
//! Text is drawn from the embedded Noto fonts ([`super::font`]): glyph outlines filled by tiny-skia,
//! so rendering never depends on installed fonts and accents and CJK print as written.

use tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, Transform,
};

use super::MapRoute;
use super::MarkKind;
use super::font::{self, Glyph};
use super::layout::{
    self, Anchor, DEPOT_FILL, FRAME, INK, LABEL_BOX, LABEL_BOX_ALPHA, Label, MAP_BG, Rgb, Scene, Swatch,
    Text, WHITE,
};

fn paint(c: Rgb, alpha: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.0, c.1, c.2, alpha);
    p
}

fn pt(v: f64) -> f32 {
    v as f32
}

fn polygon(pts: &[(f64, f64)], close: bool) -> Option<Path> {
    let (first, rest) = pts.split_first()?;
    let mut pb = PathBuilder::new();
    pb.move_to(pt(first.0), pt(first.1));
    for p in rest {
        pb.line_to(pt(p.0), pt(p.1));
    }
    if close {
        pb.close();
    }
    pb.finish()
}

fn stroke(width: f64) -> Stroke {
    Stroke {
        width: pt(width),
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}

fn fill_and_edge(pm: &mut Pixmap, path: &Path, fill: Rgb, edge: Rgb, width: f64) {
    let t = Transform::identity();
    pm.fill_path(path, &paint(fill, 255), FillRule::Winding, t, None);
    pm.stroke_path(path, &paint(edge, 255), &stroke(width), t, None);
}

fn mark(pm: &mut Pixmap, kind: MarkKind, fill: Rgb, x: f64, y: f64, r: f64) {
    let path = match kind {
        MarkKind::Added => polygon(&layout::diamond(x, y, r), true),
        _ => PathBuilder::from_circle(pt(x), pt(y), pt(r)),
    };
    if let Some(path) = path {
        fill_and_edge(pm, &path, fill, layout::mark_edge(kind), (r / 6.0).max(1.2));
    }
}

fn depot(pm: &mut Pixmap, x: f64, y: f64, d: f64) {
    if let Some(path) = polygon(&layout::house(x, y, d), true) {
        fill_and_edge(pm, &path, DEPOT_FILL, WHITE, 1.5);
    }
}

/// Collects glyph outlines (font units, y up) into one path in px (y down).
struct Pen {
    pb: PathBuilder,
    /// Glyph origin on the baseline, in px.
    x: f32,
    y: f32,
    /// px per font unit.
    s: f32,
}

impl Pen {
    fn at(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.s, self.y - y * self.s)
    }

    /// A hollow box for a character no embedded font has: outer edge one way, inner the other, so
    /// the non-zero fill leaves the middle empty.
    fn missing_box(&mut self, em: f32) {
        let (x0, x1) = (self.x + 0.08 * em, self.x + 0.52 * em);
        let (y0, y1) = (self.y - 0.72 * em, self.y);
        let t = (0.06 * em).max(1.0);
        let mut ring = |a: [(f32, f32); 4]| {
            self.pb.move_to(a[0].0, a[0].1);
            for p in &a[1..] {
                self.pb.line_to(p.0, p.1);
            }
            self.pb.close();
        };
        ring([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]);
        ring([
            (x0 + t, y0 + t),
            (x0 + t, y1 - t),
            (x1 - t, y1 - t),
            (x1 - t, y0 + t),
        ]);
    }
}

impl ttf_parser::OutlineBuilder for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.pb.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.pb.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let ((x1, y1), (x, y)) = (self.at(x1, y1), self.at(x, y));
        self.pb.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let ((x1, y1), (x2, y2), (x, y)) = (self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        self.pb.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.pb.close();
    }
}

/// The outline of `t`'s text as one path, or None when it draws nothing (spaces only).
fn text_path(t: &Text) -> Option<Path> {
    let (glyphs, width) = font::layout(&t.text, t.size);
    let left = match t.anchor {
        Anchor::Start => t.x,
        Anchor::Middle => t.x - width / 2.0,
    };
    let baseline = t.y + font::baseline_shift() * t.size;
    let mut pen = Pen {
        pb: PathBuilder::new(),
        x: 0.0,
        y: pt(baseline),
        s: 0.0,
    };
    for g in glyphs {
        pen.x = pt(left + g.x);
        match g.glyph {
            Glyph::Outline { face, id } => {
                let f = font::face(face);
                pen.s = pt(t.size) / f32::from(f.units_per_em());
                f.outline_glyph(id, &mut pen);
            }
            Glyph::Missing => pen.missing_box(pt(t.size)),
        }
    }
    pen.pb.finish()
}

/// Draws text from the embedded fonts, anti-aliased; bold is the outline stroked a little wider.
fn text(pm: &mut Pixmap, t: &Text) {
    let Some(path) = text_path(t) else { return };
    let p = paint(t.color, 255);
    let tr = Transform::identity();
    pm.fill_path(&path, &p, FillRule::Winding, tr, None);
    if t.bold {
        let st = Stroke {
            width: pt(t.size * 0.045),
            ..Stroke::default()
        };
        pm.stroke_path(&path, &p, &st, tr, None);
    }
}

/// A label: its leader line, its box when it stands beside a mark, then its text in the middle.
fn label(pm: &mut Pixmap, l: &Label) {
    let tr = Transform::identity();
    if let Some(line) = l.leader.and_then(|[a, b]| polygon(&[a, b], false)) {
        pm.stroke_path(&line, &paint(INK, 200), &stroke(1.0), tr, None);
    }
    let r = l.rect;
    if l.boxed
        && let Some(rect) = Rect::from_xywh(pt(r.x), pt(r.y), pt(r.w), pt(r.h))
    {
        pm.fill_rect(rect, &paint(LABEL_BOX, LABEL_BOX_ALPHA), tr, None);
    }
    let (x, y) = r.centre();
    text(
        pm,
        &Text {
            x,
            y,
            size: l.size,
            anchor: Anchor::Middle,
            color: l.color,
            bold: false,
            text: l.text.clone(),
        },
    );
}

/// Crisp 1 px outline: offset by half a pixel so it covers whole pixels.
fn frame(pm: &mut Pixmap, f: layout::Frame, fill: Rgb, edge: Rgb) {
    let (x, y) = (f.x.round() + 0.5, f.y.round() + 0.5);
    let (w, h) = (f.w.round(), f.h.round());
    let pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)];
    if let Some(path) = polygon(&pts, true) {
        let t = Transform::identity();
        pm.fill_path(&path, &paint(fill, 255), FillRule::Winding, t, None);
        let st = Stroke {
            width: 1.0,
            ..Stroke::default()
        };
        pm.stroke_path(&path, &paint(edge, 255), &st, t, None);
    }
}

fn draw(sc: &Scene) -> Result<Pixmap, String> {
    let mut pm =
        Pixmap::new(sc.w, sc.h).ok_or_else(|| format!("cannot allocate a {}x{} image", sc.w, sc.h))?;
    pm.fill(Color::WHITE);
    frame(&mut pm, sc.map, MAP_BG, FRAME);

    let t = Transform::identity();
    for p in &sc.paths {
        if p.points.len() < 2 {
            continue;
        }
        if let Some(path) = polygon(&p.points, false) {
            pm.stroke_path(&path, &paint(p.color, 217), &stroke(sc.line_w), t, None);
        }
    }
    for &(x, y) in &sc.depots {
        depot(&mut pm, x, y, sc.r * 1.1);
    }
    for p in &sc.pointers {
        if let Some(path) = polygon(&p.outline, true) {
            fill_and_edge(&mut pm, &path, DEPOT_FILL, WHITE, 1.0);
        }
    }
    for s in &sc.stops {
        mark(&mut pm, s.kind, s.fill, s.x, s.y, sc.r);
    }
    for l in &sc.labels {
        label(&mut pm, l);
    }
    if let Some(b) = &sc.scale_bar {
        let pts = [
            (b.x, b.y - b.tick),
            (b.x, b.y),
            (b.x + b.len, b.y),
            (b.x + b.len, b.y - b.tick),
        ];
        if let Some(path) = polygon(&pts, false) {
            let st = Stroke {
                width: 2.0,
                ..Stroke::default()
            };
            pm.stroke_path(&path, &paint(INK, 255), &st, t, None);
        }
    }
    frame(&mut pm, sc.panel, WHITE, FRAME);
    for &(x, y, sw) in &sc.swatches {
        match sw {
            Swatch::Mark(kind, fill) => mark(&mut pm, kind, fill, x, y, sc.swatch_r),
            Swatch::Depot => depot(&mut pm, x, y, sc.swatch_r),
            Swatch::Line(c) => {
                let d = sc.swatch_r * 1.3;
                if let Some(path) = polygon(&[(x - d, y), (x + d, y)], false) {
                    pm.stroke_path(&path, &paint(c, 255), &stroke(sc.line_w), t, None);
                }
            }
        }
    }
    for tx in &sc.texts {
        text(&mut pm, tx);
    }
    Ok(pm)
}

/// Draws the routes as a PNG of `width` x `height` pixels (clamped like [`super::svg`]).
pub fn png(routes: &[MapRoute], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let pm = draw(&layout::scene(routes, width, height))?;
    encode(&pm).map_err(|e| format!("PNG encoding failed: {e}"))
}

/// A minimal PNG encoder (RGBA8, no filtering, zlib from flate2): the drawing is opaque, so the
/// pixmap's premultiplied bytes are the straight ones. Using the deflate implementation the
/// Parquet writer already links keeps the build from compiling a second one.
fn encode(pm: &Pixmap) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let (w, h) = (pm.width(), pm.height());
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter method, no interlace
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for row in pm.data().chunks(w as usize * 4) {
        z.write_all(&[0])?; // filter type None
        z.write_all(row)?;
    }
    let idat = z.finish()?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::layout::{ADDED_FILL, PALETTE};
    use super::super::testdata::routes;
    use super::*;

    fn ihdr_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    fn count(pm: &Pixmap, c: Rgb) -> usize {
        pm.pixels()
            .iter()
            .filter(|p| p.alpha() == 255 && (p.red(), p.green(), p.blue()) == (c.0, c.1, c.2))
            .count()
    }

    /// Decodes what [`encode`] writes (chunk CRCs, zlib, unfiltered rows) back into pixels.
    fn decode(bytes: &[u8]) -> Pixmap {
        use std::io::Read;
        let (w, h) = ihdr_size(bytes);
        let mut at = 8;
        let mut idat = Vec::new();
        while at < bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let body = &bytes[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(bytes[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32fast::hash(body), crc, "chunk CRC");
            if &body[..4] == b"IDAT" {
                idat.extend_from_slice(&body[4..]);
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw.len(), h as usize * (1 + 4 * w as usize));
        let mut pm = Pixmap::new(w, h).unwrap();
        for (y, row) in raw.chunks(1 + 4 * w as usize).enumerate() {
            assert_eq!(row[0], 0, "filter type");
            let dst = &mut pm.data_mut()[y * 4 * w as usize..(y + 1) * 4 * w as usize];
            dst.copy_from_slice(&row[1..]);
        }
        pm
    }

    #[test]
    fn decodes_with_requested_size_and_content() {
        let bytes = png(&routes(), 800, 600).expect("png");
        assert_eq!(ihdr_size(&bytes), (800, 600));
        let pm = decode(&bytes);
        assert_eq!(
            pm.data(),
            draw(&layout::scene(&routes(), 800, 600)).unwrap().data()
        );
        let first = pm.pixels()[0];
        assert!(pm.pixels().iter().any(|p| *p != first), "all one colour");
        assert!(count(&pm, WHITE) > 100_000, "white background");
        assert!(count(&pm, PALETTE[0]) > 100, "first route's customer marks");
        assert!(count(&pm, PALETTE[1]) > 100, "second route's marks");
        assert!(count(&pm, ADDED_FILL) > 50, "added prospect mark");
        assert!(count(&pm, DEPOT_FILL) > 50, "depot mark and text");
    }

    #[test]
    fn title_text_is_drawn() {
        let sc = layout::scene(&routes(), 800, 600);
        let pm = draw(&sc).unwrap();
        let band = (0..30u32)
            .flat_map(|y| (0..400u32).map(move |x| (x, y)))
            .filter(|&(x, y)| pm.pixel(x, y).is_some_and(|p| p.red() < 0x40))
            .count();
        assert!(band > 200, "title pixels: {band}");
    }

    /// The pixels of `text` drawn black on white at 32 px.
    fn ink(text: &str) -> Pixmap {
        let mut pm = Pixmap::new(160, 48).unwrap();
        pm.fill(Color::WHITE);
        let t = Text {
            x: 4.0,
            y: 24.0,
            size: 32.0,
            anchor: Anchor::Start,
            color: Rgb(0, 0, 0),
            bold: false,
            text: text.to_string(),
        };
        super::text(&mut pm, &t);
        pm
    }

    fn dark(pm: &Pixmap) -> usize {
        pm.pixels().iter().filter(|p| p.red() < 0x80).count()
    }

    #[test]
    fn accents_and_cjk_print_as_written() {
        let (n, enye) = (ink("N"), ink("Ñ"));
        assert!(dark(&enye) > dark(&n), "the tilde adds ink");
        assert_ne!(n.data(), enye.data());
        let (east, capital, missing) = (ink("東"), ink("京"), ink("한"));
        assert!(dark(&east) > 100 && dark(&capital) > 100);
        assert_ne!(east.data(), missing.data(), "東 is not the replacement box");
        assert_ne!(east.data(), capital.data());
        assert_ne!(ink("東京").data(), ink("京東").data());
    }

    #[test]
    fn a_character_no_font_has_is_a_visible_box() {
        let boxed = ink("한");
        assert!(dark(&boxed) > 40, "the box is drawn");
        assert_eq!(
            boxed.data(),
            ink("Ж").data(),
            "every missing character draws the same box"
        );
        // Hollow: the middle of the box stays white.
        let (x, y) = (4 + (0.3 * 32.0) as u32, (24.0 + (0.388 - 0.36) * 32.0) as u32);
        assert_eq!(boxed.pixel(x, y).unwrap().red(), 255);
        assert_eq!(dark(&ink(" ")), 0);
    }

    #[test]
    fn bold_text_has_more_ink() {
        let mut sc = layout::scene(&routes(), 800, 600);
        sc.texts.truncate(1);
        let plain = {
            let mut s = sc.clone();
            s.texts[0].bold = false;
            draw(&s).unwrap()
        };
        assert!(dark(&draw(&sc).unwrap()) > dark(&plain));
    }

    #[test]
    fn deterministic_and_never_empty() {
        assert_eq!(png(&routes(), 500, 400), png(&routes(), 500, 400));
        let bytes = png(&[], 0, 0).unwrap();
        assert_eq!(ihdr_size(&bytes), (240, 180));
    }
}
