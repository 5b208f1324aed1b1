//! One HTML page for reviewing routes on an interactive map (Leaflet, embedded inline). Data,
//! script and styles are in the file, so it can be mailed or opened from disk; its CSP forbids
//! every network request unless a basemap (`--tiles`) is asked for, and then allows images from
//! that tile host only, so customer locations never reach anyone else.

mod tiles;

pub use tiles::Tiles;

use serde_json::{Value, json};

use super::layout::{self, ADDED_EDGE, ADDED_FILL, DEPOT_FILL, INK, MAP_BG, MUTED, OTHER_FILL, WHITE};
use super::territory::route_colors;
use super::{MapRoute, MapStop, MarkKind, haversine_km};

/// What the page shows beyond the routes.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// A basemap under the routes; `None` keeps the page free of network requests.
    pub tiles: Option<Tiles>,
}

/// Blocks every fetch; inline script and styles and data: images only.
pub(crate) const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/// Leaflet, as the npm package ships it (see `src/map/assets/README.md`).
const LEAFLET_JS: &str = include_str!("../../assets/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../../assets/leaflet/leaflet.css");
const PAGE: &str = include_str!("page.html");
const PAGE_CSS: &str = include_str!("page.css");
const PAGE_JS: &str = include_str!("map.js");

/// The page's CSP: [`CSP`], plus the tile host for images when there is a basemap.
fn csp(options: &HtmlOptions) -> String {
    match &options.tiles {
        Some(t) => format!("{CSP} {}", t.csp_source()),
        None => CSP.to_string(),
    }
}

/// Leaflet without its source-map comment, so developer tools do not look for the map file.
fn leaflet_js() -> &'static str {
    let js = LEAFLET_JS.trim_end();
    match js.rfind('\n') {
        Some(i) if js[i + 1..].starts_with("//# sourceMappingURL=") => &js[..i],
        _ => js,
    }
}

/// Makes JSON safe inside a `<script>` element: `</` cannot close it and `<!--` cannot
/// switch the parser into its escaped state. Both replacements stay valid JSON.
fn script_safe(json: &str) -> String {
    json.replace("</", "<\\/").replace("<!--", "\\u003c!--")
}

/// Km rounded to metres, so the page is stable across platforms.
fn metres(km: f64) -> f64 {
    (km * 1000.0).round() / 1000.0
}

fn stop_data(s: &MapStop, leg: Option<(f64, Option<i32>)>) -> Value {
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
        // From the previous drawn stop (`leg_from` its StopNo), or from the depot (`leg_from` null).
        "leg_km": leg.map(|l| metres(l.0)),
        "leg_from": leg.and_then(|l| l.1),
    })
}

/// Each stop with its leg: the distance from the stop drawn before it, the depot for the first.
fn stops_data(r: &MapRoute) -> Vec<Value> {
    let mut prev: Option<((f64, f64), Option<i32>)> = r.depot_point().map(|d| (d, None));
    r.sorted_stops()
        .into_iter()
        .map(|s| {
            let leg = match s.position() {
                Some(p) => {
                    let leg = prev.map(|(from, no)| (haversine_km(from, p), no));
                    prev = Some((p, s.stop_no));
                    leg
                }
                None => None,
            };
            stop_data(s, leg)
        })
        .collect()
}

fn route_data(routes: &[MapRoute]) -> Value {
    let colors = route_colors(routes);
    let list: Vec<Value> = routes
        .iter()
        .zip(colors)
        .map(|(r, color)| {
            json!({
                "distributor_id": r.distributor_id,
                "agent_id": r.agent_id,
                "route_date": r.route_date,
                "depot": r.depot_point().map(|d| [d.0, d.1]),
                "km": r.km(),
                "title": layout::title(std::slice::from_ref(r)),
                "color": color.hex(),
                "stops": stops_data(r),
            })
        })
        .collect();
    Value::Array(list)
}

/// Colours the script shares with the Rust renderers, and the basemap.
fn config(options: &HtmlOptions) -> Value {
    let tiles = options
        .tiles
        .as_ref()
        .map(|t| json!({ "url": t.url(), "attribution": t.attribution_html() }));
    json!({
        "style": {
            "added": ADDED_FILL.hex(),
            "addedEdge": ADDED_EDGE.hex(),
            "other": OTHER_FILL.hex(),
            "depot": DEPOT_FILL.hex(),
            "ink": INK.hex(),
            "muted": MUTED.hex(),
            "white": WHITE.hex(),
            "mapBg": MAP_BG.hex(),
        },
        "tiles": tiles,
    })
}

/// Fills `{{NAME}}` markers of `template` in one pass, so inserted text is never scanned again.
fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").expect("closed marker") + start;
        out.push_str(&rest[..start]);
        out.push_str(&value(&rest[start + 2..end]));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// One page that shows any agent's route for any date, or a day's whole territory.
///
/// The initial view can be chosen with `#agent=<id>&date=<date>&view=territory`; when drawn,
/// `body` carries `data-status="ready"`, `data-agent`, `data-date` and `data-view` so headless
/// browsers can wait for it. Script errors set `data-status="error"` and fill `#error`.
pub fn html(routes: &[MapRoute], options: &HtmlOptions) -> String {
    fill(PAGE, |name| match name {
        "CSP" => csp(options),
        "LEAFLET_CSS" => LEAFLET_CSS.to_string(),
        "PAGE_CSS" => PAGE_CSS.to_string(),
        "CONFIG" => script_safe(&config(options).to_string()),
        "ROUTES" => script_safe(&route_data(routes).to_string()),
        "LEAFLET_JS" => leaflet_js().to_string(),
        "PAGE_JS" => PAGE_JS.to_string(),
        other => panic!("unknown page marker {other}"),
    })
}

#[cfg(test)]
mod tests;
