//! One self-contained HTML page for reviewing routes offline: data, script and styles
//! are inline and the CSP forbids any network request, so the file can be mailed or
//! opened from disk without leaking customer locations to third parties.

use serde_json::{Value, json};

use super::layout::{
    self, ADDED_EDGE, ADDED_FILL, DEPOT_FILL, EARTH_KM_PER_DEG, FRAME, INK, MAP_BG, MUTED, OTHER_FILL,
    PALETTE, WHITE,
};
use super::{MapRoute, MarkKind};

/// Blocks every fetch; inline script and styles and data: images only.
pub(crate) const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/// Makes JSON safe inside a `<script>` element: `</` cannot close it and `<!--` cannot
/// switch the parser into its escaped state. Both replacements stay valid JSON.
fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/").replace("<!--", "\\u003c!--")
}

fn route_data(routes: &[MapRoute]) -> Value {
    let list: Vec<Value> = routes
        .iter()
        .map(|r| {
            let stops: Vec<Value> = r
                .sorted_stops()
                .into_iter()
                .map(|s| {
                    let mark = match s.mark() {
                        MarkKind::Customer => "customer",
                        MarkKind::Added => "added",
                        MarkKind::Other => "other",
                    };
                    json!({
                        "cust_no": s.cust_no,
                        "name": s.name,
                        "custype": s.custype,
                        "stop_no": s.stop_no,
                        "lat": s.lat,
                        "lon": s.lon,
                        "added": s.added,
                        "drawn": s.position().is_some(),
                        "mark": mark,
                    })
                })
                .collect();
            json!({
                "distributor_id": r.distributor_id,
                "agent_id": r.agent_id,
                "route_date": r.route_date,
                "depot": r.depot_point().map(|d| [d.0, d.1]),
                "km": r.km(),
                "title": layout::title(std::slice::from_ref(r)),
                "stops": stops,
            })
        })
        .collect();
    Value::Array(list)
}

/// Colours and constants the script shares with the Rust renderers.
fn style() -> Value {
    json!({
        "palette": PALETTE.iter().map(|c| c.hex()).collect::<Vec<_>>(),
        "added": ADDED_FILL.hex(),
        "addedEdge": ADDED_EDGE.hex(),
        "other": OTHER_FILL.hex(),
        "depot": DEPOT_FILL.hex(),
        "ink": INK.hex(),
        "muted": MUTED.hex(),
        "white": WHITE.hex(),
        "mapBg": MAP_BG.hex(),
        "frame": FRAME.hex(),
        "kmPerDeg": EARTH_KM_PER_DEG,
    })
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="__CSP__">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>routeflow routes</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0; color: #222; background: #fff; }
header { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 10px 16px; border-bottom: 1px solid #d0d4d8; background: #f6f8fa; }
header h1 { font-size: 16px; margin: 0 12px 0 0; }
label { display: inline-flex; gap: 6px; align-items: center; }
select { font: inherit; padding: 2px 4px; }
main { padding: 12px 16px; }
#map svg { width: 100%; max-width: 960px; height: auto; display: block; border: 1px solid #eee; }
#error { color: #a00; background: #fee; border: 1px solid #d99; padding: 8px; margin: 8px 16px; white-space: pre-wrap; }
table { border-collapse: collapse; margin-top: 12px; min-width: 60%; }
th, td { border: 1px solid #d0d4d8; padding: 3px 8px; text-align: left; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.unplaced td { color: #888; }
tr.added td { background: #fff4e8; }
</style>
</head>
<body data-status="loading">
<header>
<h1>Routes</h1>
<label>Agent <select id="agent"></select></label>
<label>Date <select id="date"></select></label>
<span id="count"></span>
</header>
<div id="error" role="alert" hidden></div>
<main>
<div id="map"></div>
<table id="stops">
<thead><tr><th>StopNo</th><th>CustNo</th><th>Name</th><th>Custype</th><th>Added</th><th>Lat</th><th>Lon</th></tr></thead>
<tbody></tbody>
</table>
<noscript>This page needs JavaScript to draw the routes.</noscript>
</main>
<script type="application/json" id="routes">"#;

/// Error hook first, in its own element, so even a syntax error in the drawing script is
/// reported; then the script that draws one route like the SVG renderer (same layout
/// rules at 960x640).
const SCRIPT: &str = r#"</script>
<script>
window.onerror = function (msg, src, line, col, err) {
  document.body.dataset.status = 'error';
  var e = document.getElementById('error');
  e.textContent = String((err && err.stack) || (msg + ' (line ' + line + ')'));
  e.hidden = false;
  return false;
};
</script>
<script>
(function () {
  'use strict';
  var STYLE = __STYLE__;
  var W = 960, H = 640;
  var body = document.body;

  var routes = JSON.parse(document.getElementById('routes').textContent);
  var agentSel = document.getElementById('agent');
  var dateSel = document.getElementById('date');
  var holder = document.createElement('div');
  holder.innerHTML = '<svg></svg>';
  var NS = holder.firstChild.namespaceURI;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function f1(v) { return v.toFixed(1); }
  function pts(a) { return a.map(function (p) { return f1(p[0]) + ',' + f1(p[1]); }).join(' '); }
  function closed(a) { return 'M' + pts(a).split(' ').join(' L') + 'Z'; }
  function house(x, y, d) {
    return [[x - d, y + d], [x + d, y + d], [x + d, y - 0.15 * d], [x, y - 1.15 * d], [x - d, y - 0.15 * d]];
  }
  function diamond(x, y, r) { var d = r * 1.25; return [[x, y - d], [x + d, y], [x, y + d], [x - d, y]]; }
  function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }
  function truncate(s, max) {
    var c = Array.from(s);
    return c.length <= max ? s : c.slice(0, Math.max(max - 3, 0)).join('') + '...';
  }
  function niceFloor(x) {
    if (!(isFinite(x) && x > 0)) { return 1; }
    var e = Math.pow(10, Math.floor(Math.log10(x)));
    var f = x / e;
    return (f >= 5 ? 5 : f >= 2 ? 2 : 1) * e;
  }
  function fmtKm(v) {
    if (v >= 1) { return v.toFixed(0) + ' km'; }
    return v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '') + ' km';
  }
  function markFill(kind, color) { return kind === 'added' ? STYLE.added : kind === 'customer' ? color : STYLE.other; }
  function markEdge(kind) { return kind === 'added' ? STYLE.addedEdge : STYLE.white; }
  function markInk(kind) { return kind === 'added' ? STYLE.ink : STYLE.white; }
  function mark(g, kind, fill, x, y, r) {
    var sw = f1(Math.max(r / 6, 1.2));
    if (kind === 'added') {
      el('path', { d: closed(diamond(x, y, r)), fill: fill, stroke: markEdge(kind), 'stroke-width': sw }, g);
    } else {
      el('circle', { cx: f1(x), cy: f1(y), r: f1(r), fill: fill, stroke: markEdge(kind), 'stroke-width': sw }, g);
    }
  }
  function depot(g, x, y, d) {
    el('path', { 'class': 'depot', d: closed(house(x, y, d)), fill: STYLE.depot, stroke: STYLE.white, 'stroke-width': '1.5' }, g);
  }
  function text(g, x, y, size, color, str, middle, bold) {
    var a = { x: f1(x), y: f1(y), 'font-size': f1(size), fill: color, 'dominant-baseline': 'central' };
    if (middle) { a['text-anchor'] = 'middle'; }
    if (bold) { a['font-weight'] = 'bold'; }
    el('text', a, g).textContent = str;
  }

  function draw(route, color) {
    var pad = 12, titleH = 36, bottomH = 34;
    var panelW = Math.min(clamp(W * 0.24, 130, 230), W * 0.4);
    var map = { x: pad, y: titleH, w: W - panelW - 2 * pad, h: H - titleH - bottomH };
    var r = clamp(Math.min(W, H) / 70, 7, 16);
    var lineW = Math.max(r * 0.35, 2.5);
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'font-family': 'Helvetica, Arial, sans-serif', role: 'img' });
    el('title', {}, svg).textContent = route.title;
    el('rect', { width: W, height: H, fill: STYLE.white }, svg);
    el('rect', { 'class': 'map', x: f1(map.x), y: f1(map.y), width: f1(map.w), height: f1(map.h), fill: STYLE.mapBg, stroke: STYLE.frame }, svg);

    var placed = route.stops.filter(function (s) { return s.drawn; });
    var path = (route.depot ? [route.depot] : []).concat(placed.map(function (s) { return [s.lat, s.lon]; }));
    var texts = [];
    texts.push([pad, titleH / 2, 16, STYLE.ink, truncate(route.title, Math.floor((W - 2 * pad) / 12)), false, true]);
    if (path.length === 0) {
      texts.push([map.x + map.w / 2, map.y + map.h / 2, 14, STYLE.muted, 'no coordinates to draw', true, false]);
    } else {
      var lats = path.map(function (p) { return p[0]; }), lons = path.map(function (p) { return p[1]; });
      var lat0 = Math.min.apply(null, lats), lat1 = Math.max.apply(null, lats);
      var lon0 = Math.min.apply(null, lons), lon1 = Math.max.apply(null, lons);
      var k = Math.max(Math.cos((lat0 + lat1) / 2 * Math.PI / 180), 0.01);
      var inset = r * 1.6 + 4;
      var iw = Math.max(map.w - 2 * inset, 1), ih = Math.max(map.h - 2 * inset, 1);
      var scale = Math.min(iw / Math.max((lon1 - lon0) * k, 0.005), ih / Math.max(lat1 - lat0, 0.005));
      var cx = map.x + map.w / 2, cy = map.y + map.h / 2, mx = (lon0 + lon1) / 2 * k, my = (lat0 + lat1) / 2;
      var proj = function (p) { return [cx + (p[1] * k - mx) * scale, cy - (p[0] - my) * scale]; };

      var gp = el('g', { 'class': 'paths', fill: 'none', 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }, svg);
      el('polyline', { points: pts(path.map(proj)), stroke: color, 'stroke-width': f1(lineW), 'stroke-opacity': '0.85' }, gp);
      var gd = el('g', { 'class': 'depots' }, svg);
      if (route.depot) { var d = proj(route.depot); depot(gd, d[0], d[1], r * 1.1); }
      var long = placed.some(function (s) { return s.stop_no !== null && String(s.stop_no).length >= 3; });
      var gs = el('g', { 'class': 'stops', 'font-size': f1(long ? r * 0.9 : r * 1.15), 'font-weight': 'bold', 'text-anchor': 'middle' }, svg);
      placed.forEach(function (s) {
        var p = proj([s.lat, s.lon]);
        var g = el('g', { 'class': 'stop ' + s.mark }, gs);
        var tip = (s.stop_no !== null ? '#' + s.stop_no + ' ' : '') + s.cust_no +
          (s.name !== null ? ' ' + s.name : '') + (s.custype !== null ? ' (' + s.custype + ')' : '') + (s.added ? ' added' : '');
        el('title', {}, g).textContent = tip;
        mark(g, s.mark, markFill(s.mark, color), p[0], p[1], r);
        if (s.stop_no !== null) {
          el('text', { x: f1(p[0]), y: f1(p[1]), 'dominant-baseline': 'central', fill: markInk(s.mark) }, g).textContent = String(s.stop_no);
        }
      });
      var kmPerPx = STYLE.kmPerDeg / scale;
      var nice = niceFloor(kmPerPx * map.w * 0.25);
      var len = nice / kmPerPx, bx = map.x + 4, by = map.y + map.h + bottomH / 2;
      el('path', { 'class': 'scale-bar', d: 'M' + f1(bx) + ',' + f1(by - 5) + ' V' + f1(by) + ' H' + f1(bx + len) + ' V' + f1(by - 5), fill: 'none', stroke: STYLE.ink, 'stroke-width': '2' }, svg);
      texts.push([bx + len + 6, by, 12, STYLE.ink, fmtKm(nice), false, false]);
    }

    var rowH = 20, swX = W - panelW + 12, textX = swX + 16;
    var maxChars = Math.max(Math.floor((W - pad - textX) / 6), 4);
    var rows = [['customer', 'customer'], ['added', 'added prospect'], ['other', 'other'], ['depot', 'depot']];
    var gl = el('g', { 'class': 'legend' }, svg);
    el('rect', { x: f1(W - panelW), y: f1(map.y), width: f1(panelW - pad), height: f1(rows.length * rowH + 8), rx: '4', fill: STYLE.white, stroke: STYLE.frame }, gl);
    rows.forEach(function (row, i) {
      var y = map.y + 4 + rowH * (i + 0.5);
      if (row[0] === 'depot') { depot(gl, swX, y, 6); } else { mark(gl, row[0], markFill(row[0], color), swX, y, 6); }
      texts.push([textX, y, 12, STYLE.ink, truncate(row[1], maxChars), false, false]);
    });
    texts.forEach(function (t) { text(svg, t[0], t[1], t[2], t[3], t[4], t[5], t[6]); });
    return svg;
  }

  function fmtCoord(v) { return typeof v === 'number' ? v.toFixed(6) : ''; }
  function table(route) {
    var tb = document.querySelector('#stops tbody');
    tb.textContent = '';
    route.stops.forEach(function (s) {
      var tr = document.createElement('tr');
      tr.className = (s.drawn ? '' : 'unplaced') + (s.added ? ' added' : '');
      [[s.stop_no === null ? '' : String(s.stop_no), 'num'], [s.cust_no, ''], [s.name || '', ''],
       [s.custype || '', ''], [s.added ? 'yes' : '', ''], [fmtCoord(s.lat), 'num'], [fmtCoord(s.lon), 'num']]
        .forEach(function (c) {
          var td = document.createElement('td');
          td.textContent = c[0];
          if (c[1]) { td.className = c[1]; }
          tr.appendChild(td);
        });
      tb.appendChild(tr);
    });
  }

  function option(sel, value, label) {
    var o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    sel.appendChild(o);
  }
  var agents = [];
  routes.forEach(function (r) { if (agents.indexOf(r.agent_id) < 0) { agents.push(r.agent_id); } });
  agents.sort();
  agents.forEach(function (a) { option(agentSel, a, a); });

  function indicesOf(agent) {
    var idx = [];
    routes.forEach(function (r, i) { if (r.agent_id === agent) { idx.push(i); } });
    idx.sort(function (a, b) {
      var x = routes[a], y = routes[b];
      return x.route_date < y.route_date ? -1 : x.route_date > y.route_date ? 1 : a - b;
    });
    return idx;
  }
  function fillDates(agent, wanted) {
    dateSel.textContent = '';
    var idx = indicesOf(agent), dists = {};
    idx.forEach(function (i) { dists[routes[i].distributor_id] = 1; });
    var many = Object.keys(dists).length > 1, pick = null;
    idx.forEach(function (i) {
      var r = routes[i];
      option(dateSel, String(i), r.route_date + (many ? ' (' + r.distributor_id + ')' : ''));
      if (pick === null && r.route_date === wanted) { pick = String(i); }
    });
    if (pick !== null) { dateSel.value = pick; }
  }
  function show() {
    var i = parseInt(dateSel.value, 10);
    var r = routes[i];
    var box = document.getElementById('map');
    box.textContent = '';
    box.appendChild(draw(r, STYLE.palette[i % STYLE.palette.length]));
    table(r);
    document.getElementById('count').textContent = routes.length + ' route' + (routes.length === 1 ? '' : 's');
    body.dataset.agent = r.agent_id;
    body.dataset.date = r.route_date;
    body.dataset.distributor = r.distributor_id;
    body.dataset.stops = String(r.stops.length);
    body.dataset.status = 'ready';
  }
  function parseHash() {
    var q = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf('='), k = i < 0 ? kv : kv.slice(0, i), v = i < 0 ? '' : kv.slice(i + 1);
      try { k = decodeURIComponent(k); v = decodeURIComponent(v.replace(/\+/g, ' ')); } catch (e) { /* keep raw */ }
      q[k] = v;
    });
    return q;
  }
  function setHash() {
    var r = routes[parseInt(dateSel.value, 10)];
    var h = '#agent=' + encodeURIComponent(r.agent_id) + '&date=' + encodeURIComponent(r.route_date);
    try { history.replaceState(null, '', h); } catch (e) { /* file: URLs may refuse; the view still updates */ }
  }
  function fromHash() {
    if (!routes.length) { return; }
    var q = parseHash();
    var agent = agents.indexOf(q.agent) >= 0 ? q.agent : agents[0];
    agentSel.value = agent;
    fillDates(agent, q.date);
    show();
  }
  agentSel.addEventListener('change', function () { fillDates(agentSel.value, null); show(); setHash(); });
  dateSel.addEventListener('change', function () { show(); setHash(); });
  window.addEventListener('hashchange', fromHash);

  if (routes.length) {
    fromHash();
  } else {
    document.getElementById('map').textContent = 'No routes.';
    body.dataset.agent = '';
    body.dataset.date = '';
    body.dataset.status = 'ready';
  }
})();
</script>
</body>
</html>
"#;

/// One page that shows any agent's route for any date, offline.
///
/// The initial view can be chosen with `#agent=<id>&date=<date>`; when drawn, `body`
/// carries `data-status="ready"`, `data-agent` and `data-date` so headless browsers can
/// wait for it. Script errors set `data-status="error"` and fill `#error`.
pub fn html(routes: &[MapRoute]) -> String {
    let data = script_safe(&route_data(routes).to_string());
    let script = SCRIPT.replace("__STYLE__", &style().to_string());
    let mut o = String::with_capacity(HEAD.len() + data.len() + script.len());
    o.push_str(&HEAD.replace("__CSP__", CSP));
    o.push_str(&data);
    o.push_str(&script);
    o
}

#[cfg(test)]
mod tests {
    use super::super::testdata::routes;
    use super::*;

    const OPEN: &str = r#"<script type="application/json" id="routes">"#;

    fn embedded(page: &str) -> &str {
        let start = page.find(OPEN).expect("data script") + OPEN.len();
        let len = page[start..].find("</script>").expect("closed");
        &page[start..start + len]
    }

    #[test]
    fn has_csp_and_no_external_urls() {
        let page = html(&routes());
        assert!(page.contains(&format!(
            r#"<meta http-equiv="Content-Security-Policy" content="{CSP}">"#
        )));
        assert!(!page.contains("http://") && !page.contains("https://"));
        for attr in ["src=", "href=", "url("] {
            for (i, _) in page.match_indices(attr) {
                let v = page[i + attr.len()..].trim_start_matches(['"', '\'']);
                assert!(
                    !v.starts_with("//") && !v.starts_with("http"),
                    "external reference at {i}: {}",
                    &page[i..(i + 40).min(page.len())]
                );
            }
        }
        assert!(!page.contains("@import"));
    }

    #[test]
    fn data_is_embedded_escaped_and_round_trips() {
        let page = html(&routes());
        let json = embedded(&page);
        assert!(json.contains(r"<\/script>"), "escaped close tag");
        let v: Value = serde_json::from_str(json).expect("valid JSON");
        assert_eq!(v.as_array().unwrap().len(), 2);
        let first = &v[0];
        assert_eq!(first["agent_id"], "A7");
        assert_eq!(first["depot"][0], 14.65);
        let names: Vec<&str> = first["stops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["cust_no"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["C001", "C002", "P900", "U010", "C404"]);
        assert_eq!(
            first["stops"][2]["name"],
            "Sari-sari <&> \"Aling\" </script> Ñora"
        );
        assert_eq!(first["stops"][4]["drawn"], false);
        // Exactly the data, error-hook and drawing scripts are closed.
        assert_eq!(page.matches("</script>").count(), 3);
    }

    #[test]
    fn comment_openers_cannot_confuse_the_parser() {
        let mut rs = routes();
        rs[0].stops[0].name = Some("<!--<script>".into());
        let page = html(&rs);
        let json = embedded(&page);
        assert!(!json.contains("<!--"));
        let v: Value = serde_json::from_str(json).unwrap();
        assert!(v.to_string().contains("<!--<script>"));
    }

    #[test]
    fn page_has_controls_and_status_hooks() {
        let page = html(&routes());
        for needle in [
            r#"<select id="agent">"#,
            r#"<select id="date">"#,
            r#"id="error""#,
            "window.onerror",
            "dataset.status = 'ready'",
            "dataset.agent",
            "dataset.date",
            "<th>StopNo</th><th>CustNo</th>",
            r##""palette":["#1f77b4""##,
        ] {
            assert!(page.contains(needle), "{needle}");
        }
        assert!(!page.contains("__STYLE__") && !page.contains("__CSP__"));
        assert_eq!(html(&routes()), page, "deterministic");
        assert!(html(&[]).contains(&format!("{OPEN}[]</script>")));
    }
}
