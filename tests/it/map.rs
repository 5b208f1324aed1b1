//! `routeflow map`: GeoJSON that parses back with the right geometry and properties, SVG and PNG
//! drawings of a fixture route, bad arguments; the HTML page in a real headless browser is in
//! `map/browser.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::routeflow;

mod browser;
mod pixels;

pub(crate) fn succeed(cmd: &mut Command) {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the fixtures into `<dir>/out` and returns it.
pub(crate) fn fixture_run(dir: &Path) -> PathBuf {
    let out = dir.join("out");
    succeed(
        routeflow()
            .args(["-q", "run", "--no-snapshot", "--output"])
            .arg(&out),
    );
    out
}

fn map(out: &Path, file: &Path, extra: &[&str]) {
    succeed(
        routeflow()
            .args(["-q", "map"])
            .arg(file)
            .arg("--output")
            .arg(out)
            .args(extra),
    );
}

/// A fixture route of 60 stops: 24 prospects added by the run, one stop without coordinates.
pub(crate) const ROUTE: [&str; 6] = [
    "--distributor",
    "D001",
    "--agent",
    "D001-A02",
    "--date",
    "2026-12-01",
];

#[test]
fn geojson_holds_each_route_path_from_the_depot_and_its_stops() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let file = dir.path().join("route.geojson");
    map(&out, &file, &ROUTE);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(json["type"], "FeatureCollection");
    let features = json["features"].as_array().unwrap();
    let kind = |k: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["kind"] == k)
            .collect::<Vec<_>>()
    };
    let (lines, depots, stops) = (kind("path"), kind("depot"), kind("stop"));
    assert_eq!((lines.len(), depots.len()), (1, 1), "one route, one depot");
    let line = &lines[0];
    assert_eq!(line["geometry"]["type"], "LineString");
    assert_eq!(line["properties"]["agent_id"], "D001-A02");
    // Alone in this file, so the first colour, as a PNG or SVG of the same selection draws it.
    assert_eq!(line["properties"]["route_color"], "#1f77b4");
    assert_eq!(stops.len(), 59, "every stop but the one without coordinates");
    let coords = line["geometry"]["coordinates"].as_array().unwrap();
    assert_eq!(
        coords[0], depots[0]["geometry"]["coordinates"],
        "the path starts at the depot"
    );
    assert_eq!(
        coords.len(),
        stops.len() + 1,
        "depot, then every stop with coordinates"
    );
    // Stops in StopNo order along the line, coordinates as [lon, lat] inside the Philippines.
    let mut by_stop: Vec<_> = stops
        .iter()
        .map(|s| (s["properties"]["stop_no"].as_i64().unwrap(), s))
        .collect();
    by_stop.sort_by_key(|(n, _)| *n);
    for (i, (n, stop)) in by_stop.iter().enumerate() {
        assert_eq!(*n, i as i64 + 1);
        assert_eq!(stop["geometry"]["type"], "Point");
        assert_eq!(stop["geometry"]["coordinates"], coords[i + 1]);
        let lon = coords[i + 1][0].as_f64().unwrap();
        let lat = coords[i + 1][1].as_f64().unwrap();
        assert!(
            (116.0..=127.0).contains(&lon) && (4.0..=21.5).contains(&lat),
            "[lon, lat]: {lon} {lat}"
        );
        for key in ["cust_no", "name", "custype", "added"] {
            assert!(stop["properties"].get(key).is_some(), "{key}");
        }
    }
    let added = stops.iter().filter(|s| s["properties"]["added"] == true).count();
    assert_eq!(added, 24, "the prospects this run added");
}

#[test]
fn svg_and_png_draw_a_fixture_route() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let svg = dir.path().join("route.svg");
    map(&out, &svg, &ROUTE);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") || text.starts_with("<?xml"),
        "{}",
        &text[..80]
    );
    assert_eq!(text.matches("<polyline").count(), 1, "one path");
    assert!(
        text.contains("D001-A02") && text.contains(" km"),
        "title and scale bar"
    );
    let png = dir.path().join("route.png");
    map(
        &out,
        &png,
        &[&ROUTE[..], &["--width", "640", "--height", "480"]].concat(),
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 640);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 480);
}

#[test]
fn a_bad_extension_or_an_empty_selection_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    for (file, extra) in [("map.txt", &[][..]), ("map.svg", &["--agent", "nobody"][..])] {
        let output = routeflow()
            .args(["-q", "map"])
            .arg(dir.path().join(file))
            .arg("--output")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{file}");
    }
}

#[test]
fn bad_tiles_arguments_are_bad_input_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let good = "https://tiles.example.org/{z}/{x}/{y}.png";
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "map.html",
            &[
                "--tiles",
                "ftp://tiles.example.org/{z}/{x}/{y}.png",
                "--tiles-attribution",
                "T",
            ],
            "http:// or https://",
        ),
        (
            "map.html",
            &[
                "--tiles",
                "https://tiles.example.org/{z}/{x}.png",
                "--tiles-attribution",
                "T",
            ],
            "{z}, {x} and {y}",
        ),
        ("map.html", &["--tiles", good], "needs --tiles-attribution"),
        ("map.html", &["--tiles-attribution", "T"], "needs --tiles"),
        (
            "map.png",
            &["--tiles", good, "--tiles-attribution", "T"],
            ".html maps only",
        ),
    ];
    for (file, extra, why) in cases {
        let output = routeflow()
            .args(["map"])
            .arg(dir.path().join(file))
            .arg("--output")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{extra:?}: {stderr}");
        assert!(stderr.contains(why), "{extra:?}: {stderr}");
        assert!(!dir.path().join(file).exists(), "nothing written");
    }
}
