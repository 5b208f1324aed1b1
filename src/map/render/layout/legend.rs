//! The legend panel on the right of the drawing: what the marks mean, then which colour is which
//! route, as many as fit.

use super::{
    ADDED_FILL, CHAR_W, Frame, INK, MUTED, Metrics, OTHER_FILL, Rgb, Swatch, Text, route_color, truncate,
};
use crate::map::render::{MapRoute, MarkKind};

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
    let max_chars = ((m.wf - m.pad - text_x) / (CHAR_W * sf)).max(4.0) as usize;
    let rows = legend_rows(routes, m.map.h, row_h);
    let panel = Frame {
        x: m.wf - m.panel_w,
        y: m.map.y,
        w: m.panel_w - m.pad,
        h: rows.len() as f64 * row_h + 8.0 * sf,
    };
    let mut swatches = Vec::new();
    for (i, (swatch, text, color)) in rows.into_iter().enumerate() {
        let y = panel.y + 4.0 * sf + row_h * (i as f64 + 0.5);
        if let Some(sw) = swatch {
            swatches.push((sw_x, y, sw));
        }
        texts.push(Text::plain(
            text_x,
            y,
            (12.0 * sf, m.s),
            color,
            truncate(&text, max_chars),
        ));
    }
    (panel, swatches)
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
