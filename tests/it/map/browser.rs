//! The HTML map in a real headless browser: no request leaves it, labels never overlap, zoom,
//! row clicks, popups, the territory view and a basemap.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::pixels;
use super::{ROUTE, fixture_run, map};

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

/// Headless chromium with its own background services kept off the network. Virtual time lets
/// the page's timers run at once, and reduced motion turns Leaflet's zoom animation off, so a
/// scripted zoom lands at once too.
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
        "--force-prefers-reduced-motion",
        "--run-all-compositor-stages-before-draw",
        "--virtual-time-budget=10000",
        "--window-size=1200,900",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// URLs other than `file:` and `data:` that the page itself asked for, from chromium's net log: its
/// requests carry the page's `file://` network isolation key, the browser's own services do not.
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(netlog).unwrap()).unwrap();
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

/// The DOM of `url` once loaded, its scripts run; with the page's requests when `netlog` is given.
fn dump_dom(dir: &Path, profile: &str, url: &str, netlog: Option<&Path>) -> String {
    let mut cmd = browser(&dir.join(profile));
    if let Some(log) = netlog {
        cmd.arg(format!("--log-net-log={}", log.display()));
    }
    let out = cmd.arg("--dump-dom").arg(url).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of `url` at 1200x900.
fn screenshot(dir: &Path, name: &str, url: &str) -> Vec<u8> {
    let file = dir.join(name);
    let run = browser(&dir.join(format!("profile-{name}")))
        .arg(format!("--screenshot={}", file.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    std::fs::read(file).unwrap()
}

/// The value of the `data-<name>` attribute of `<body>` in a dumped DOM, entities decoded.
fn body_data(dom: &str, name: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let key = format!("data-{name}=\"");
    let start = body.find(&key)? + key.len();
    let value = &body[start..start + body[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Asserts the page drew without a script error.
fn assert_ready(dom: &str) {
    assert_eq!(
        body_data(dom, "status").as_deref(),
        Some("ready"),
        "page did not finish drawing: {}",
        &dom[..dom.len().min(3000)]
    );
}

/// The fixture run drawn as one page for distributor D001, and its `file:` URL maker.
fn d001_page(dir: &Path) -> (PathBuf, impl Fn(&str) -> String) {
    let out = fixture_run(dir);
    let page = dir.join("routes.html");
    map(&out, &page, &["--distributor", "D001"]);
    let base = format!("file://{}", page.display());
    (page, move |hash: &str| format!("{base}#{hash}"))
}

const A02: &str = "agent=D001-A02&date=2026-12-01";

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
    let url = format!("file://{}", page.display());
    dump_dom(dir.path(), "profile", &url, Some(&netlog));
    let requests = page_requests(&netlog);
    assert!(requests.iter().any(|u| u.contains("x.png")), "{requests:?}");
}

#[test]
fn the_html_map_works_offline_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (page, url) = d001_page(dir.path());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\""),
        "without --tiles the CSP forbids every request"
    );

    // Loads and draws without errors, with the selection from the URL; no request leaves the page.
    let netlog = dir.path().join("netlog.json");
    let dom = dump_dom(dir.path(), "profile", &url(A02), Some(&netlog));
    assert_ready(&dom);
    assert_eq!(
        body_data(&dom, "agent").as_deref(),
        Some("D001-A02"),
        "selection from the hash"
    );
    assert!(dom.contains("route-line"), "a path is drawn");
    let requests = page_requests(&netlog);
    assert!(requests.is_empty(), "network requests: {requests:?}");

    // Switching agent changes the drawing.
    let a = screenshot(dir.path(), "a.png", &url("agent=D001-A01&date=2026-12-01"));
    let b = screenshot(dir.path(), "b.png", &url(A02));
    assert_ne!(a, b, "another agent draws another route");
}

/// Label boxes as [left, top, right, bottom] page pixels.
fn boxes(dom: &str) -> Vec<[f64; 4]> {
    serde_json::from_str(&body_data(dom, "labels").expect("label hook")).unwrap()
}

fn overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

#[test]
fn the_sixty_stop_route_shows_its_labels_without_overlap_at_the_initial_view() {
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = d001_page(dir.path());
    let dom = dump_dom(dir.path(), "profile", &url(A02), None);
    assert_ready(&dom);
    let labels = boxes(&dom);
    // 59 stops have coordinates; about 40 labels fit beside their marker at the initial view (the
    // rest wait for a zoom). The margin leaves room for other fonts' widths.
    assert!(labels.len() >= 30, "only {} labels shown", labels.len());
    for (i, a) in labels.iter().enumerate() {
        assert!(a[2] > a[0] && a[3] > a[1], "a real box: {a:?}");
        for b in &labels[i + 1..] {
            assert!(!overlap(a, b), "labels overlap: {a:?} {b:?}");
        }
    }

    // The screenshot shows the route: the map holds many colours, among them much of the
    // route's own green (route_color(1): D001-A02 is the second agent that day).
    let shot = pixels::decode(&screenshot(dir.path(), "route.png", &url(A02)));
    assert_eq!((shot.w, shot.h), (1200, 900));
    let map_area = (20, 70, 1180, 600);
    assert!(shot.colors(map_area) > 50, "a blank map");
    let green = shot.count([0x2c, 0xa0, 0x2c], map_area);
    assert!(green > 2000, "{green} pixels of the route's colour");
}

/// Drives the map page in an iframe (same origin with `--allow-file-access-from-files`) as a
/// planner would: checks the initial view, presses "Show depot", zooms with the wheel, hovers a
/// stop and clicks its table row; the findings land in `<body data-result>`.
const HARNESS: &str = r#"<!DOCTYPE html><html><body data-result="">
<iframe id="f" src="routes.html#agent=D001-A02&date=2026-12-01" style="width:1150px;height:850px"></iframe>
<script>
var f = document.getElementById('f');
function done(r) { document.body.dataset.result = JSON.stringify(r); }
function until(check, then) {
  var n = 160, t = setInterval(function () {
    var v = null;
    try { v = check(); } catch (e) { v = null; }
    if (v) { clearInterval(t); then(v); } else if (--n < 0) { clearInterval(t); done({ error: 'gave up on ' + check }); }
  }, 25);
}
until(function () { return f.contentDocument.body.dataset.status === 'ready'; }, function () {
  var w = f.contentWindow, d = f.contentDocument, map = w.routeMap, out = {};
  var route = JSON.parse(d.getElementById('routes').textContent).filter(function (r) {
    return r.agent_id === 'D001-A02' && r.route_date === '2026-12-01';
  })[0];
  var placed = route.stops.filter(function (s) { return s.drawn; });
  var scale = function () { return d.querySelector('.leaflet-control-scale-line').textContent; };
  out.stopsInView = placed.every(function (s) { return map.getBounds().contains([s.lat, s.lon]); });
  out.depotInView = map.getBounds().contains(route.depot);
  d.getElementById('show-depot').click();
  out.depotInViewAfterButton = map.getBounds().contains(route.depot);
  d.getElementById('fit-stops').click();
  out.zoomBefore = map.getZoom();
  out.scaleBefore = scale();
  var box = d.getElementById('map').getBoundingClientRect();
  d.getElementById('map').dispatchEvent(new w.WheelEvent('wheel', {
    deltaY: -120, deltaMode: 0, bubbles: true, cancelable: true,
    clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 }));
  until(function () { return map.getZoom() !== out.zoomBefore; }, function () {
    out.zoomAfter = map.getZoom();
    out.scaleAfter = scale();
    var stop = placed[29];
    out.stop = stop;
    var mark = d.querySelector('path.stop[data-cust="' + stop.cust_no + '"]');
    var at = mark.getBoundingClientRect();
    mark.dispatchEvent(new w.MouseEvent('mouseover', { bubbles: true, clientX: at.left + at.width / 2, clientY: at.top + at.height / 2 }));
    var tip = d.querySelector('.leaflet-tooltip');
    out.tooltip = tip ? tip.textContent : null;
    var row = d.querySelector('#stops tbody tr[data-cust="' + stop.cust_no + '"]');
    row.click();
    out.rowSelected = row.classList.contains('selected');
    out.lit = Array.prototype.map.call(d.querySelectorAll('path.highlighted'), function (e) { return e.getAttribute('data-cust'); });
    var c = map.getCenter();
    out.center = [c.lat, c.lng];
    done(out);
  });
});
</script></body></html>
"#;

#[test]
fn zoom_hover_and_a_table_row_click_work_on_the_fitted_route() {
    let dir = tempfile::tempdir().unwrap();
    let _page = d001_page(dir.path());
    let harness = dir.path().join("harness.html");
    std::fs::write(&harness, HARNESS).unwrap();
    let dom = browser(&dir.path().join("profile"))
        .arg("--allow-file-access-from-files")
        .arg("--dump-dom")
        .arg(format!("file://{}", harness.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let out: Value = serde_json::from_str(&body_data(&dom, "result").expect("result")).unwrap();
    assert!(out["error"].is_null(), "{out}");

    // Fitted to the stops; the depot 9 km away is off the view until asked for.
    assert_eq!(out["stopsInView"], true, "{out}");
    assert_eq!(out["depotInView"], false, "{out}");
    assert_eq!(out["depotInViewAfterButton"], true, "{out}");

    // The wheel zooms in: a higher zoom, and the scale bar stands for fewer metres.
    let (before, after) = (
        out["zoomBefore"].as_f64().unwrap(),
        out["zoomAfter"].as_f64().unwrap(),
    );
    assert!(after > before, "{out}");
    let metres = |s: &Value| {
        let s = s.as_str().unwrap();
        let n: f64 = s.split(' ').next().unwrap().parse().unwrap();
        if s.ends_with(" km") { n * 1000.0 } else { n }
    };
    assert!(metres(&out["scaleAfter"]) < metres(&out["scaleBefore"]), "{out}");

    // Hovering shows what a planner needs; the leg is from the stop before.
    let stop = &out["stop"];
    let tip = out["tooltip"].as_str().expect("a tooltip");
    for part in [
        format!("StopNo: {}", stop["stop_no"]),
        format!("CustNo: {}", stop["cust_no"].as_str().unwrap()),
        format!("Name: {}", stop["name"].as_str().unwrap()),
        format!("Custype: {}", stop["custype"].as_str().unwrap()),
        "Added: ".to_string(),
        format!("Leg: {:.2} km from stop 29", stop["leg_km"].as_f64().unwrap()),
    ] {
        assert!(tip.contains(&part), "{part:?} not in {tip:?}");
    }

    // A row click highlights exactly that stop's marker and brings it to the middle.
    assert_eq!(out["rowSelected"], true);
    assert_eq!(out["lit"], serde_json::json!([stop["cust_no"]]), "{out}");
    let (lat, lon) = (stop["lat"].as_f64().unwrap(), stop["lon"].as_f64().unwrap());
    let c = &out["center"];
    assert!(
        (c[0].as_f64().unwrap() - lat).abs() < 1e-4 && (c[1].as_f64().unwrap() - lon).abs() < 1e-4,
        "centre {c} vs stop {lat},{lon}"
    );
}

/// `stroke="#rrggbb"` of every drawn route line in a dumped DOM.
fn route_line_strokes(dom: &str) -> Vec<String> {
    dom.split("<path")
        .skip(1)
        .map(|p| &p[..p.find('>').unwrap_or(p.len())])
        .filter(|p| p.contains("route-line"))
        .filter_map(|p| {
            let s = p.find("stroke=\"")? + "stroke=\"".len();
            Some(p[s..s + p[s..].find('"')?].to_string())
        })
        .collect()
}

#[test]
fn the_territory_view_draws_each_agent_of_the_day_in_its_own_colour_as_the_geojson_says() {
    let dir = tempfile::tempdir().unwrap();
    let (_, url) = d001_page(dir.path());
    // The day's routes and colours, from the GeoJSON of the same distributor and date.
    let geojson = dir.path().join("day.geojson");
    map(
        &dir.path().join("out"),
        &geojson,
        &["--distributor", "D001", "--date", "2026-12-01"],
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&geojson).unwrap()).unwrap();
    let mut colors: Vec<(String, String)> = json["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["kind"] == "path")
        .map(|f| {
            let p = &f["properties"];
            (
                p["agent_id"].as_str().unwrap().into(),
                p["route_color"].as_str().unwrap().into(),
            )
        })
        .collect();
    colors.sort();
    assert!(
        colors.len() >= 2,
        "the fixture day has several agents: {colors:?}"
    );

    let dom = dump_dom(
        dir.path(),
        "profile",
        &url(&format!("{A02}&view=territory")),
        None,
    );
    assert_ready(&dom);
    assert_eq!(body_data(&dom, "view").as_deref(), Some("territory"));
    let mut strokes = route_line_strokes(&dom);
    assert_eq!(strokes.len(), colors.len(), "one line per agent: {strokes:?}");
    strokes.sort();
    strokes.dedup();
    assert_eq!(strokes.len(), colors.len(), "a colour per agent: {strokes:?}");
    let mut want: Vec<String> = colors.iter().map(|(_, c)| c.clone()).collect();
    want.sort();
    assert_eq!(strokes, want, "the GeoJSON's route_color is the page's");
    // The legend names each agent.
    for (agent, _) in &colors {
        assert!(
            dom.contains(&format!("data-agent=\"{agent}\"")),
            "{agent} in the legend"
        );
    }
    // The route view of the same page draws one line.
    let single = dump_dom(dir.path(), "profile-single", &url(A02), None);
    assert_eq!(route_line_strokes(&single).len(), 1);
}

#[test]
fn a_basemap_is_fetched_from_the_tile_host_only_with_its_attribution_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = fixture_run(dir.path());
    // A port nobody listens on: the requests are refused at once, and still logged.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("http://127.0.0.1:{port}");
    let page = dir.path().join("tiles.html");
    let attribution = "<b id=\"injected\">Tiles</b> © Example & co";
    map(
        &out,
        &page,
        &[
            &ROUTE[..],
            &[
                "--tiles",
                &format!("{host}/{{z}}/{{x}}/{{y}}.png"),
                "--tiles-attribution",
                attribution,
            ],
        ]
        .concat(),
    );
    let netlog = dir.path().join("netlog.json");
    let dom = dump_dom(
        dir.path(),
        "profile",
        &format!("file://{}", page.display()),
        Some(&netlog),
    );
    assert_ready(&dom);
    let requests = page_requests(&netlog);
    assert!(!requests.is_empty(), "tiles are requested");
    assert!(
        requests
            .iter()
            .all(|u| u.starts_with(&format!("{host}/")) && u.ends_with(".png")),
        "{requests:?}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&format!("img-src data: {host}\"")),
        "the CSP allows the tile host and nothing more"
    );
    assert!(
        !dom.contains("<b id=\"injected\""),
        "the attribution is not markup"
    );
    assert!(dom.contains("&lt;b id=\"injected\"&gt;Tiles&lt;/b&gt; © Example &amp; co"));
}
