//! `routeflow map`: GeoJSON that parses back with the right geometry and properties, SVG and PNG
//! drawings of a fixture route, and the HTML page in a real headless browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::routeflow;

fn succeed(cmd: &mut Command) {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the fixtures into `<dir>/out` and returns it.
fn fixture_run(dir: &Path) -> PathBuf {
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
const ROUTE: [&str; 6] = [
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

/// The browser `.ci/run` installs (Debian's chromium package).
fn chromium() -> PathBuf {
    ["chromium", "chromium-browser"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .expect("the HTML map test needs chromium (`apt-get install chromium`; .ci/run installs it)")
}

/// Headless chromium with its own background services kept off the network.
fn browser(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=1000,1100",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// URLs other than `file:` and `data:` that the page itself asked for, from chromium's net log: its
/// requests carry the page's `file://` network isolation key, the browser's own services do not.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(netlog).unwrap()).unwrap();
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| &e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.contains("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_net_log_check_sees_a_page_that_does_make_requests() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(
        &page,
        "<img src=\"http://192.0.2.1/x.png\"><script>fetch('http://192.0.2.1/y')</script>",
    )
    .unwrap();
    let netlog = dir.path().join("netlog.json");
    browser(&dir.path().join("profile"))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let requests = page_requests(&netlog);
    assert!(requests.iter().any(|u| u.contains("x.png")), "{requests:?}");
}

#[test]
fn the_html_map_works_offline_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    let page = dir.path().join("routes.html");
    map(&out, &page, &["--distributor", "D001"]);
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(!html.contains(needle), "the page must not reference {needle}");
    }
    let url = |hash: &str| format!("file://{}#{hash}", page.display());

    // Loads and draws without errors, with the selection from the URL; no request leaves the page.
    let netlog = dir.path().join("netlog.json");
    let dom = browser(&dir.path().join("profile"))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(url("agent=D001-A02&date=2026-12-01"))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-status=\"ready\""),
        "page did not finish drawing: {}",
        &dom[..dom.len().min(2000)]
    );
    assert!(dom.contains("data-agent=\"D001-A02\""), "selection from the hash");
    assert!(dom.contains("<polyline"), "a path is drawn");
    let requests = page_requests(&netlog);
    assert!(requests.is_empty(), "network requests: {requests:?}");

    // Switching agent changes the drawing; neither screenshot is blank.
    let shot = |name: &str, hash: &str| {
        let file = dir.path().join(name);
        let run = browser(&dir.path().join(format!("profile-{name}")))
            .arg(format!("--screenshot={}", file.display()))
            .arg(url(hash))
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        std::fs::read(file).unwrap()
    };
    let a = shot("a.png", "agent=D001-A01&date=2026-12-01");
    let b = shot("b.png", "agent=D001-A02&date=2026-12-01");
    assert_ne!(a, b, "another agent draws another route");
    // A blank 1000x1100 page compresses to a few kB; a drawn route with its table is far larger.
    assert!(
        a.len() > 20_000 && b.len() > 20_000,
        "screenshots of {} and {} bytes",
        a.len(),
        b.len()
    );
}
