use super::super::layout::route_color;
use super::super::testdata::routes;
use super::*;

const OPEN: &str = r#"<script type="application/json" id="routes">"#;

fn page(routes: &[MapRoute]) -> String {
    html(routes, &HtmlOptions::default())
}

fn embedded(page: &str) -> &str {
    let start = page.find(OPEN).expect("data script") + OPEN.len();
    let len = page[start..].find("</script>").expect("closed");
    &page[start..start + len]
}

/// The page without vendored Leaflet (whose script names its home page and the SVG namespace,
/// and whose styles cite bug reports in comments).
fn own_parts(page: &str) -> String {
    page.replace(leaflet_js(), "").replace(LEAFLET_CSS, "")
}

#[test]
fn has_csp_and_no_external_urls() {
    let page = page(&routes());
    assert!(page.contains(&format!(
        r#"<meta http-equiv="Content-Security-Policy" content="{CSP}">"#
    )));
    let own = own_parts(&page);
    assert!(!own.contains("http://") && !own.contains("https://"));
    for attr in ["src=", "href=", "url("] {
        for (i, _) in own.match_indices(attr) {
            let v = own[i + attr.len()..].trim_start_matches(['"', '\'']);
            assert!(
                !v.starts_with("//") && !v.starts_with("http"),
                "external reference at {i}: {}",
                &own[i..(i + 40).min(own.len())]
            );
        }
    }
    assert!(!page.contains("@import"));
    assert!(!page.contains("sourceMappingURL"), "no source map lookup");
}

#[test]
fn leaflet_and_the_page_script_are_inline() {
    let page = page(&routes());
    assert!(page.contains("Leaflet 1.9.4"));
    assert!(page.contains(LEAFLET_CSS) && page.contains(PAGE_JS));
    // Neither embedded text can end its own element early.
    for text in [LEAFLET_JS, PAGE_JS] {
        assert!(!text.to_ascii_lowercase().contains("</script"));
    }
    for text in [LEAFLET_CSS, PAGE_CSS] {
        assert!(!text.to_ascii_lowercase().contains("</style"));
    }
    // The config, data, error-hook, Leaflet and map scripts are closed, and nothing else.
    assert_eq!(page.matches("</script>").count(), 5);
    assert!(!page.contains("\u{7b}\u{7b}"), "every {{NAME}} marker filled");
}

#[test]
fn data_is_embedded_escaped_and_round_trips() {
    let page = page(&routes());
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
}

#[test]
fn each_stop_carries_its_leg_from_the_previous_drawn_stop_or_the_depot() {
    let rs = routes();
    let v: Value = serde_json::from_str(embedded(&page(&rs))).unwrap();
    let stops = v[0]["stops"].as_array().unwrap();
    let r = &rs[0];
    let pos = |cust: &str| {
        r.stops
            .iter()
            .find(|s| s.cust_no == cust)
            .unwrap()
            .position()
            .unwrap()
    };
    let km = |a: (f64, f64), b| metres(haversine_km(a, b));
    assert_eq!(stops[0]["leg_km"], km(r.depot, pos("C001")));
    assert!(stops[0]["leg_from"].is_null(), "the first leg is the depot's");
    assert_eq!(stops[1]["leg_km"], km(pos("C001"), pos("C002")));
    assert_eq!(stops[1]["leg_from"], 1);
    assert_eq!(stops[3]["leg_km"], km(pos("P900"), pos("U010")));
    assert!(stops[4]["leg_km"].is_null(), "an unplaced stop has no leg");
    // The legs add up to the route's length.
    let sum: f64 = stops.iter().filter_map(|s| s["leg_km"].as_f64()).sum();
    assert!((sum - r.km()).abs() < 0.005, "{sum} vs {}", r.km());

    let mut no_depot = rs[0].clone();
    no_depot.depot = (f64::NAN, f64::NAN);
    let v: Value = serde_json::from_str(embedded(&page(&[no_depot]))).unwrap();
    assert!(v[0]["stops"][0]["leg_km"].is_null(), "no depot, no first leg");
}

#[test]
fn routes_carry_their_territory_colour() {
    let mut rs = routes();
    rs[1].route_date = rs[0].route_date.clone();
    let v: Value = serde_json::from_str(embedded(&page(&rs))).unwrap();
    assert_eq!(v[0]["color"], route_color(0).hex());
    assert_eq!(v[1]["color"], route_color(1).hex());
}

#[test]
fn comment_openers_cannot_confuse_the_parser() {
    let mut rs = routes();
    rs[0].stops[0].name = Some("<!--<script>".into());
    let page = page(&rs);
    let json = embedded(&page);
    assert!(!json.contains("<!--"));
    let v: Value = serde_json::from_str(json).unwrap();
    assert!(v.to_string().contains("<!--<script>"));
}

#[test]
fn page_has_controls_and_status_hooks() {
    let p = page(&routes());
    for needle in [
        r#"<select id="agent">"#,
        r#"<select id="date">"#,
        r#"<select id="view">"#,
        r#"id="error""#,
        "window.onerror",
        "dataset.status = 'ready'",
        "dataset.agent",
        "dataset.date",
        "dataset.labels",
        "<th>StopNo</th><th>CustNo</th>",
        r#""tiles":null"#,
    ] {
        assert!(p.contains(needle), "{needle}");
    }
    assert_eq!(page(&routes()), p, "deterministic");
    assert!(page(&[]).contains(&format!("{OPEN}[]</script>")));
}

#[test]
fn a_basemap_allows_exactly_its_tile_host_and_escapes_the_attribution() {
    let tiles = Tiles::new(
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "</script><b>Tiles</b> © Example",
    )
    .unwrap();
    let p = html(&routes(), &HtmlOptions { tiles: Some(tiles) });
    assert!(p.contains(&format!(r#"content="{CSP} https://*.tiles.example.org">"#)));
    let start = p.find(r#"id="config">"#).unwrap() + r#"id="config">"#.len();
    let config = &p[start..start + p[start..].find("</script>").unwrap()];
    let config: Value = serde_json::from_str(config).unwrap();
    assert_eq!(
        config["tiles"]["url"],
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    );
    assert_eq!(
        config["tiles"]["attribution"],
        "&lt;/script&gt;&lt;b&gt;Tiles&lt;/b&gt; © Example"
    );
    assert!(!own_parts(&p).contains("<b>Tiles"));
}
