//! The legend panel on the right of the drawing: what the marks mean, then which colour is which
//! route, as many as fit; for one route, the key from stop numbers to customer names.

use super::{ADDED_FILL, Frame, INK, MUTED, Metrics, OTHER_FILL, Rgb, Swatch, Text, route_color};
use crate::map::render::{MapRoute, MarkKind, font};

/// One line of the legend: its swatch, text and text colour.
type LegendRow = (Option<Swatch>, String, Rgb);

/// Legend panel on the right: mark kinds, then one colour key per route. Returns the panel and the
/// swatches; the rows' texts go to `texts`.
pub(super) fn legend(
    routes: &[MapRoute],
    m: &Metrics,
    texts: &mut Vec<Text>,
) -> (Frame, Vec<(f64, f64, Swatch)>) {
    let sf = m.sf;
    let row_h = 20.0 * sf;
    let sw_x = m.wf - m.panel_w + 12.0 * sf;
    let text_x = sw_x + 16.0 * sf;
    let size = 12.0 * sf;
    let max_w = m.wf - m.pad - text_x - 4.0 * sf;
    let rows = legend_rows(routes, m.map.h, row_h);
    let key_h = 15.0 * sf;
    let key_size = 11.0 * sf;
    let room = m.map.h - (rows.len() as f64 * row_h + 8.0 * sf);
    let key = match routes {
        [one] => stop_key(one, (room / key_h) as usize),
        _ => Vec::new(),
    };
    let panel = Frame {
        x: m.wf - m.panel_w,
        y: m.map.y,
        w: m.panel_w - m.pad,
        h: rows.len() as f64 * row_h + key.len() as f64 * key_h + 8.0 * sf,
    };
    let mut swatches = Vec::new();
    let mut y = panel.y + 4.0 * sf + row_h / 2.0;
    for (swatch, text, color) in rows {
        if let Some(sw) = swatch {
            swatches.push((sw_x, y, sw));
        }
        let text = font::fit(&text, size, max_w);
        texts.push(Text::plain(text_x, y, size, color, text));
        y += row_h;
    }
    y += (key_h - row_h) / 2.0;
    let key_w = m.wf - m.pad - sw_x;
    for (text, color) in key {
        let text = font::fit(&text, key_size, key_w);
        texts.push(Text::plain(sw_x - 6.0 * sf, y, key_size, color, text));
        y += key_h;
    }
    (panel, swatches)
}

/// For a single route, what its numbers stand for: "StopNo name" in visiting order (the customer
/// number when there is no name), at most `room` lines with the last saying how many did not fit.
fn stop_key(route: &MapRoute, room: usize) -> Vec<(String, Rgb)> {
    let stops = route.path_stops();
    if stops.is_empty() || room < 3 {
        return Vec::new();
    }
    let mut key = vec![("stops".to_string(), MUTED)];
    let fits = stops.len() < room;
    let shown = if fits { stops.len() } else { room - 2 };
    for (s, _) in &stops[..shown] {
        let no = s.stop_no.map(|n| n.to_string()).unwrap_or_default();
        let name = s.name.as_deref().unwrap_or(&s.cust_no);
        key.push((format!("{no} {name}"), INK));
    }
    if !fits {
        key.push((format!("+{} more", stops.len() - shown), MUTED));
    }
    key
}

/// The legend's rows: the mark kinds, then with several routes one colour key per route, as many as
/// fit beside a map `map_h` high.
fn legend_rows(routes: &[MapRoute], map_h: f64, row_h: f64) -> Vec<LegendRow> {
    let mut rows: Vec<LegendRow> = vec![
        (
            Some(Swatch::Mark(MarkKind::Customer, route_color(0))),
            "customer".into(),
            INK,
        ),
        (
            Some(Swatch::Mark(MarkKind::Added, ADDED_FILL)),
            "added prospect".into(),
            INK,
        ),
        (
            Some(Swatch::Mark(MarkKind::Other, OTHER_FILL)),
            "other".into(),
            INK,
        ),
        (Some(Swatch::Depot), "depot".into(), INK),
    ];
    if routes.len() > 1 {
        let room = ((map_h / row_h) as usize).saturating_sub(rows.len() + 1);
        rows.push((None, "routes".into(), MUTED));
        let shown = if routes.len() <= room {
            routes.len()
        } else {
            room.saturating_sub(1)
        };
        for (i, rt) in routes.iter().take(shown).enumerate() {
            rows.push((
                Some(Swatch::Line(route_color(i))),
                format!("{} {}", rt.agent_id, rt.route_date),
                INK,
            ));
        }
        if shown < routes.len() {
            rows.push((None, format!("+{} more", routes.len() - shown), MUTED));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::render::testdata::routes;

    #[test]
    fn one_route_lists_its_stop_names_as_many_as_fit() {
        let route = &routes()[0];
        let key = stop_key(route, 20);
        let lines: Vec<&str> = key.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(lines[0], "stops");
        assert_eq!(lines[1], "1 Store C001");
        assert!(
            lines[3].starts_with("3 Sari-sari <&>"),
            "names as written: {}",
            lines[3]
        );
        assert_eq!(lines.len(), 5, "the unplaced stop has no number on the map");
        let short = stop_key(route, 4);
        assert_eq!(short.last().unwrap().0, "+2 more");
        assert_eq!(short.len(), 4);
    }
}
