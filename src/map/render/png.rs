//! Raster version of the SVG drawing, for chat apps and spreadsheets that cannot show SVG.
//!
//! Text uses the built-in 5x7 font so rendering never depends on installed fonts.

use tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, Transform,
};

use super::MapRoute;
use super::MarkKind;
use super::font::glyph;
use super::layout::{self, Anchor, DEPOT_FILL, FRAME, INK, MAP_BG, Rgb, Scene, Swatch, Text, WHITE};

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

/// Draws text pixel-aligned with the bitmap font; horizontal runs become one rectangle.
fn text(pm: &mut Pixmap, t: &Text) {
    let s = t.scale.max(1) as i32;
    let n = t.text.chars().count() as i32;
    let width = n * 6 * s - s;
    let left = match t.anchor {
        Anchor::Start => t.x.round() as i32,
        Anchor::Middle => (t.x - f64::from(width) / 2.0).round() as i32,
    };
    let top = (t.y - 3.5 * f64::from(s)).round() as i32;
    let mut p = paint(t.color, 255);
    p.anti_alias = false;
    let passes: &[i32] = if t.bold { &[0, 1] } else { &[0] };
    for (i, c) in t.text.chars().enumerate() {
        let gx = left + i as i32 * 6 * s;
        for (row, bits) in glyph(c).iter().enumerate() {
            let mut col = 0;
            while col < 5 {
                if bits & (0x10 >> col) == 0 {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < 5 && bits & (0x10 >> col) != 0 {
                    col += 1;
                }
                for dx in passes {
                    let rect = Rect::from_xywh(
                        (gx + start * s + dx) as f32,
                        (top + row as i32 * s) as f32,
                        ((col - start) * s) as f32,
                        s as f32,
                    );
                    if let Some(rect) = rect {
                        pm.fill_rect(rect, &p, Transform::identity(), None);
                    }
                }
            }
        }
    }
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
    for s in &sc.stops {
        mark(&mut pm, s.kind, s.fill, s.x, s.y, sc.r);
        if let Some(label) = &s.label {
            text(
                &mut pm,
                &Text {
                    x: s.x,
                    y: s.y,
                    size: sc.num_size,
                    scale: sc.num_scale,
                    anchor: Anchor::Middle,
                    color: layout::mark_ink(s.kind),
                    bold: false,
                    text: label.clone(),
                },
            );
        }
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

    #[test]
    fn deterministic_and_never_empty() {
        assert_eq!(png(&routes(), 500, 400), png(&routes(), 500, 400));
        let bytes = png(&[], 0, 0).unwrap();
        assert_eq!(ihdr_size(&bytes), (240, 180));
    }
}
