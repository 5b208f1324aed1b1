//! A route's colour is its agent's place in the day's territory (one distributor, one date), so the
//! HTML page, the GeoJSON and a PNG or SVG of that distributor and date give each agent the same
//! colour: those draw route `i` of their list in `route_color(i)`, and a territory's list is its
//! agents in order.

use std::collections::BTreeMap;

use super::MapRoute;
use super::layout::{Rgb, route_color};

/// The colour of each route of `routes`: `route_color(k)` for the k-th agent (by AgentID, then
/// input order) among the routes with its DistributorID and date.
pub(crate) fn route_colors(routes: &[MapRoute]) -> Vec<Rgb> {
    let mut days: BTreeMap<(&str, &str), Vec<(&str, usize)>> = BTreeMap::new();
    for (i, r) in routes.iter().enumerate() {
        days.entry((&r.distributor_id, &r.route_date))
            .or_default()
            .push((&r.agent_id, i));
    }
    let mut colors = vec![route_color(0); routes.len()];
    for mut members in days.into_values() {
        members.sort();
        for (k, (_, i)) in members.into_iter().enumerate() {
            colors[i] = route_color(k);
        }
    }
    colors
}

#[cfg(test)]
mod tests {
    use super::super::testdata::routes;
    use super::*;

    #[test]
    fn agents_of_one_day_get_the_palette_in_agent_order() {
        let mut rs = routes();
        for r in &mut rs {
            r.route_date = "2026-12-01".into();
        }
        // Out of agent order on purpose: B2 is listed after A7, Z9 first.
        let mut z = rs[1].clone();
        z.agent_id = "Z9".into();
        rs.insert(0, z);
        let colors = route_colors(&rs);
        assert_eq!(colors, [route_color(2), route_color(0), route_color(1)]);
    }

    #[test]
    fn each_day_and_distributor_starts_the_palette_again() {
        // A7 on 2026-12-01 and B2 on 2026-12-02: each alone in its day.
        assert_eq!(route_colors(&routes()), [route_color(0), route_color(0)]);
        let mut rs = routes();
        rs[1].route_date = rs[0].route_date.clone();
        rs[1].distributor_id = "D02".into();
        assert_eq!(route_colors(&rs), [route_color(0), route_color(0)]);
        assert!(route_colors(&[]).is_empty());
    }
}
