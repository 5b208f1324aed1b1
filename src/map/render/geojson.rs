//! GeoJSON (RFC 7946) export so routes open directly in QGIS, geojson.io and the like.

use serde_json::{Map, Value, json};

use super::MapRoute;
use super::territory::route_colors;

/// RFC 7946 positions are [lon, lat].
fn position(p: (f64, f64)) -> Value {
    json!([p.1, p.0])
}

fn feature(geometry: Value, properties: Map<String, Value>) -> Value {
    json!({ "type": "Feature", "geometry": geometry, "properties": properties })
}

fn route_props(r: &MapRoute, color: &str, kind: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), kind.into());
    m.insert("distributor_id".into(), r.distributor_id.clone().into());
    m.insert("agent_id".into(), r.agent_id.clone().into());
    m.insert("route_date".into(), r.route_date.clone().into());
    m.insert("route_color".into(), color.into());
    m
}

/// A FeatureCollection with, per route, the path line, the depot and the placed stops.
///
/// The line's `stops` counts every stop of the route (placed or not) and `unplaced`
/// the ones left off the map, so totals still reconcile with the route table. A route
/// with fewer than two drawable points gets `"geometry": null`, since a LineString
/// needs two positions. An unusable depot (non-finite, out of range or (0, 0)) is left
/// out and the line starts at the first stop. Every feature has its route's `route_color`
/// ("#rrggbb"), the colour the HTML page and the drawings give that agent in the day's territory.
pub fn geojson(routes: &[MapRoute]) -> String {
    let mut features = Vec::new();
    for (r, color) in routes.iter().zip(route_colors(routes)) {
        let color = color.hex();
        let path = r.path();
        let mut props = route_props(r, &color, "path");
        props.insert("stops".into(), r.stops.len().into());
        let unplaced = r.stops.iter().filter(|s| s.position().is_none()).count();
        props.insert("unplaced".into(), unplaced.into());
        props.insert("km".into(), r.km().into());
        let line = if path.len() >= 2 {
            json!({
                "type": "LineString",
                "coordinates": path.iter().copied().map(position).collect::<Vec<_>>(),
            })
        } else {
            Value::Null
        };
        features.push(feature(line, props));

        if let Some(d) = r.depot_point() {
            let geometry = json!({ "type": "Point", "coordinates": position(d) });
            features.push(feature(geometry, route_props(r, &color, "depot")));
        }

        for (s, p) in r.path_stops() {
            let mut props = route_props(r, &color, "stop");
            props.insert("cust_no".into(), s.cust_no.clone().into());
            props.insert("name".into(), s.name.clone().into());
            props.insert("custype".into(), s.custype.clone().into());
            props.insert("stop_no".into(), s.stop_no.into());
            props.insert("added".into(), s.added.into());
            let geometry = json!({ "type": "Point", "coordinates": position(p) });
            features.push(feature(geometry, props));
        }
    }
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::layout::route_color;
    use super::super::testdata::routes;
    use super::*;

    fn parse(routes: &[MapRoute]) -> Value {
        serde_json::from_str(&geojson(routes)).expect("valid JSON")
    }

    fn of_kind<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["kind"] == kind)
            .collect()
    }

    #[test]
    fn line_starts_at_depot_and_follows_stop_order() {
        let v = parse(&routes());
        assert_eq!(v["type"], "FeatureCollection");
        let lines = of_kind(&v, "path");
        assert_eq!(lines.len(), 2);
        let l = lines[0];
        assert_eq!(l["geometry"]["type"], "LineString");
        let coords = l["geometry"]["coordinates"].as_array().unwrap();
        // depot, then C001 (1), C002 (2), P900 (3), U010 (4); lon first.
        let expect = [
            [121.03, 14.65],
            [121.038, 14.655],
            [121.045, 14.66],
            [121.05, 14.64],
            [121.042, 14.63],
        ];
        assert_eq!(coords.len(), expect.len());
        for (c, e) in coords.iter().zip(expect) {
            assert_eq!(c[0].as_f64().unwrap(), e[0]);
            assert_eq!(c[1].as_f64().unwrap(), e[1]);
        }
        let p = &l["properties"];
        assert_eq!(p["distributor_id"], "D01");
        assert_eq!(p["agent_id"], "A7");
        assert_eq!(p["route_date"], "2026-12-01");
        assert_eq!(p["stops"], 5, "unplaced stop still counted");
        assert_eq!(p["unplaced"], 1);
        let km = p["km"].as_f64().unwrap();
        assert!(km > 5.0 && km < 12.0, "{km}");
    }

    #[test]
    fn points_for_depot_and_placed_stops_only() {
        let v = parse(&routes());
        assert_eq!(of_kind(&v, "depot").len(), 2);
        let stops = of_kind(&v, "stop");
        assert_eq!(stops.len(), 6, "C404 has no coordinates");
        assert!(stops.iter().all(|s| s["properties"]["cust_no"] != "C404"));
        let added = stops
            .iter()
            .find(|s| s["properties"]["cust_no"] == "P900")
            .unwrap();
        let p = &added["properties"];
        assert_eq!(p["added"], true);
        assert_eq!(p["custype"], "prospect");
        assert_eq!(p["stop_no"], 3);
        assert!(p["name"].as_str().unwrap().contains("</script>"));
        assert_eq!(added["geometry"]["coordinates"][0], 121.05);
        for key in ["cust_no", "name", "custype", "stop_no", "added"] {
            assert!(stops.iter().all(|s| s["properties"].get(key).is_some()), "{key}");
        }
    }

    #[test]
    fn route_without_placed_stops_has_null_geometry() {
        let mut r = routes().remove(0);
        r.stops.retain(|s| s.position().is_none());
        let v = parse(&[r]);
        let l = of_kind(&v, "path")[0];
        assert!(l["geometry"].is_null());
        assert_eq!(l["properties"]["stops"], 1);
        assert_eq!(l["properties"]["km"], 0.0);
    }

    #[test]
    fn unusable_depot_is_left_out() {
        let mut r = routes().remove(0);
        r.depot = (0.0, 0.0);
        let v = parse(&[r]);
        assert!(of_kind(&v, "depot").is_empty());
        let l = of_kind(&v, "path")[0];
        assert_eq!(l["geometry"]["coordinates"][0][0], 121.038, "starts at stop 1");
        assert!(!geojson(&routes()).contains("NaN"));
    }

    #[test]
    fn every_feature_has_its_agents_colour_in_the_day() {
        let mut rs = routes();
        rs[1].route_date = rs[0].route_date.clone();
        let v = parse(&rs);
        for f in v["features"].as_array().unwrap() {
            let p = &f["properties"];
            let want = if p["agent_id"] == "A7" {
                route_color(0)
            } else {
                route_color(1)
            };
            assert_eq!(p["route_color"], want.hex(), "{p}");
        }
        assert_eq!(of_kind(&v, "path")[1]["properties"]["route_color"], "#2ca02c");
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(geojson(&routes()), geojson(&routes()));
        assert_eq!(parse(&[])["features"].as_array().map(Vec::len), Some(0));
    }
}
