//! `routeflow map` to PNG and SVG on the fixtures' 60-stop route D001 / D001-A02 / 2026-12-01,
//! whose depot is 9 km from its stops: the drawing is fitted to the stops with an arrow to the
//! depot, no two labels overlap, and names print as written (`Ñ`, `東京`).

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::map::{ROUTE, fixture_run, succeed};
use crate::support::routeflow;

/// The map frame's background, a customer mark, and the depot arrow's fill (src/map/render/layout.rs).
const MAP_BG: [u8; 3] = [0xf6, 0xf8, 0xfa];
const CUSTOMER: [u8; 3] = [0x1f, 0x77, 0xb4];
const DEPOT: [u8; 3] = [0x22, 0x22, 0x22];

/// Draws the fixture route from `out` into `file` at `w` x `h` and returns the file's bytes.
fn draw(out: &Path, file: &Path, w: u32, h: u32) -> Vec<u8> {
    let size = [w.to_string(), h.to_string()];
    succeed(
        routeflow()
            .args(["-q", "map"])
            .arg(file)
            .arg("--output")
            .arg(out)
            .args(ROUTE)
            .args(["--width", &size[0], "--height", &size[1]]),
    );
    std::fs::read(file).unwrap()
}

/// The numbers of every `attr="..."` in `text`, in order.
fn attr(text: &str, attr: &str) -> Vec<f64> {
    let key = format!(" {attr}=\"");
    text.split(&key)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The part of `doc` from `start` to the next `end`.
fn section<'a>(doc: &'a str, start: &str, end: &str) -> &'a str {
    let from = doc.find(start).unwrap_or_else(|| panic!("no {start}"));
    let rest = &doc[from..];
    &rest[..rest.find(end).unwrap()]
}

#[derive(Debug, Clone, Copy)]
struct Box4 {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Box4 {
    fn overlaps(&self, o: &Box4) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// The map frame of an SVG drawing.
fn svg_frame(doc: &str) -> Box4 {
    let rect = section(doc, r#"<rect class="map""#, "/>");
    let v = |a| attr(rect, a)[0];
    Box4 {
        x: v("x"),
        y: v("y"),
        w: v("width"),
        h: v("height"),
    }
}

/// Every label's box (`data-box`) and text.
fn svg_labels(doc: &str) -> Vec<(Box4, String)> {
    doc.split(r#"<text class="label" data-box=""#)
        .skip(1)
        .map(|rest| {
            let v: Vec<f64> = rest[..rest.find('"').unwrap()]
                .split(' ')
                .map(|n| n.parse().unwrap())
                .collect();
            let text = &rest[rest.find('>').unwrap() + 1..rest.find("</text>").unwrap()];
            (
                Box4 {
                    x: v[0],
                    y: v[1],
                    w: v[2],
                    h: v[3],
                },
                text.to_string(),
            )
        })
        .collect()
}

/// Decodes what routeflow's PNG encoder writes (RGBA8, unfiltered rows): width, height, pixels.
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let (mut at, mut idat) = (8, Vec::new());
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == b"IDAT" {
            idat.extend_from_slice(&bytes[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let rgba = raw.chunks(1 + 4 * w).flat_map(|row| row[1..].to_vec()).collect();
    (w, h, rgba)
}

/// Bounding box (x0, y0, x1, y1) of the pixels of colour `c` inside `within`.
fn bbox_of(
    png: &(usize, usize, Vec<u8>),
    c: [u8; 3],
    within: (usize, usize, usize, usize),
) -> (usize, usize, usize, usize) {
    let (w, _, px) = png;
    let mut b = (usize::MAX, usize::MAX, 0, 0);
    for y in within.1..=within.3 {
        for x in within.0..=within.2 {
            let i = 4 * (y * w + x);
            if px[i..i + 3] == c {
                b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
    }
    b
}

#[test]
fn svg_and_png_are_fitted_to_the_stops_with_an_arrow_to_the_far_depot() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let svg = String::from_utf8(draw(&out, &dir.path().join("r.svg"), 1200, 900)).unwrap();
    let frame = svg_frame(&svg);
    let stops = section(&svg, r#"<g class="stops">"#, r#"<g class="labels""#);
    let (xs, ys) = (attr(stops, "cx"), attr(stops, "cy"));
    assert!(xs.len() > 20, "customer marks: {}", xs.len());
    let span =
        |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    let fill = (span(&xs) / frame.w).max(span(&ys) / frame.h);
    assert!(fill > 0.8, "the stops span {fill:.2} of the frame");
    assert!(
        svg.contains(r#"<g class="depots"></g>"#),
        "the far depot is not drawn in place"
    );
    let arrow = section(&svg, r#"<g class="depot-pointer">"#, "</g>");
    assert!(arrow.contains("depot 9."), "{arrow}");
    assert!(
        svg_labels(&svg)
            .iter()
            .any(|(_, t)| t.starts_with("depot 9.") && t.ends_with(" km"))
    );

    // The PNG of the same size draws the same picture.
    let png = decode_png(&draw(&out, &dir.path().join("r.png"), 1200, 900));
    assert_eq!((png.0, png.1), (1200, 900));
    let f = bbox_of(&png, MAP_BG, (0, 0, 1199, 899));
    let marks = bbox_of(&png, CUSTOMER, f);
    let fill = ((marks.2 - marks.0) as f64 / (f.2 - f.0) as f64)
        .max((marks.3 - marks.1) as f64 / (f.3 - f.1) as f64);
    assert!(
        fill > 0.8,
        "customer marks span {fill:.2} of the frame: {marks:?} in {f:?}"
    );
    // The arrow's shaft, a few px behind its tip, is the depot's colour.
    let d = &arrow[arrow.find(" d=\"M").unwrap() + 5..];
    let pts: Vec<(f64, f64)> = d[..d.find('"').unwrap()]
        .trim_end_matches('Z')
        .split(" L")
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    let shaft = (
        (pts[3].0 + pts[4].0 + pts[2].0 + pts[5].0) / 4.0,
        (pts[3].1 + pts[4].1 + pts[2].1 + pts[5].1) / 4.0,
    );
    let (sx, sy) = (shaft.0.round() as usize, shaft.1.round() as usize);
    let near = bbox_of(&png, DEPOT, (sx - 1, sy - 1, sx + 1, sy + 1));
    assert!(near.0 != usize::MAX, "no arrow at {shaft:?}");
}

#[test]
fn no_two_labels_overlap_on_the_fixture_route() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    for (w, h) in [(1200, 900), (640, 480)] {
        let svg = String::from_utf8(draw(&out, &dir.path().join("r.svg"), w, h)).unwrap();
        let labels = svg_labels(&svg);
        let numbers = labels.iter().filter(|(_, t)| t.parse::<u32>().is_ok()).count();
        assert!(numbers >= 40, "{w}x{h}: {numbers} of 59 stops keep their number");
        let frame = svg_frame(&svg);
        for (i, (a, ta)) in labels.iter().enumerate() {
            assert!(
                a.x >= frame.x
                    && a.y >= frame.y
                    && a.x + a.w <= frame.x + frame.w + 0.01
                    && a.y + a.h <= frame.y + frame.h + 0.01
            );
            for (b, tb) in &labels[i + 1..] {
                assert!(!a.overlaps(b), "{w}x{h}: label {ta} {a:?} overlaps {tb} {b:?}");
            }
        }
        // The PNG draws each label's text in the same box: white in a blue mark, dark elsewhere.
        let png = decode_png(&draw(&out, &dir.path().join("r.png"), w, h));
        let white: Vec<bool> = svg
            .split(r#"<text class="label" "#)
            .skip(1)
            .map(|t| t[..t.find('>').unwrap()].contains(r##"fill="#ffffff""##))
            .collect();
        for ((b, t), white) in labels.iter().zip(white) {
            let (x0, y0) = (b.x.ceil() as usize, b.y.ceil() as usize);
            let (x1, y1) = ((b.x + b.w).floor() as usize, (b.y + b.h).floor() as usize);
            let inked = (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let i = 4 * (y * png.0 + x);
                    let p = &png.2[i..i + 3];
                    // Anti-aliased: lighter than any mark, or darker than an orange one.
                    let sum: u32 = p.iter().map(|&c| u32::from(c)).sum();
                    if white { sum > 0x200 } else { sum < 300 }
                })
                .count();
            assert!(inked >= 3, "{w}x{h}: label {t} not drawn in {b:?}");
        }
    }
}

/// Sets every stop name in the run's output to `name`.
fn rename_stops(out: &Path, name: &str) {
    let dir = out.join("MonthlyRoutePlan_temp");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let schema = batches[0].schema();
        let col = schema.index_of("Name").unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), schema.clone(), None).unwrap();
        for b in batches {
            let names: ArrayRef = Arc::new(StringArray::from(vec![name; b.num_rows()]));
            let names = arrow::compute::cast(&names, schema.field(col).data_type()).unwrap();
            let mut cols = b.columns().to_vec();
            cols[col] = names;
            w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap())
                .unwrap();
        }
        w.close().unwrap();
    }
}

#[test]
fn stop_names_with_accents_and_cjk_print_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let png_named = |name: &str| {
        rename_stops(&out, name);
        draw(&out, &dir.path().join("n.png"), 900, 700)
    };
    let enye = png_named("ÑAÑA 東京");
    let plain = png_named("NANA 東京");
    assert_ne!(
        decode_png(&enye).2,
        decode_png(&plain).2,
        "Ñ is drawn, not folded to N"
    );
    let missing = png_named("ÑAÑA 한한");
    assert_ne!(
        decode_png(&enye).2,
        decode_png(&missing).2,
        "東京 is drawn, not the replacement box"
    );
    let swapped = png_named("ÑAÑA 京東");
    assert_ne!(
        decode_png(&enye).2,
        decode_png(&swapped).2,
        "東 and 京 are different glyphs"
    );

    rename_stops(&out, r#"<&"' Ñ 東京"#);
    let svg = String::from_utf8(draw(&out, &dir.path().join("n.svg"), 900, 700)).unwrap();
    assert!(svg.contains(r#"font-family="'Noto Sans', 'Noto Sans CJK JP', "#));
    assert!(
        svg.contains(" &lt;&amp;&quot;&apos; Ñ 東京</text>"),
        "the stop key, escaped text"
    );
    assert!(!svg.contains(r#"<&"'"#));
}
