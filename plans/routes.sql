-- Stage 3, routes: one row per route with its size, centroid, depot, need and template row.
--
-- * centroid: mean of the route's customer stops with valid coordinates (rule 4). The sums are taken in
--   fixed point (1e-9 degree) because integer sums do not depend on how rows were partitioned, which
--   keeps the result identical at any concurrency.
-- * depot (rule 6): --start-lat/--start-lon, else the distributor's first valid location, else Manila.
-- * template (rule 5): added prospects copy WD, SalesManTerritory, RouteName, RouteCode, SalesOfficeID
--   from the route's row with the smallest CustNo (first in source order among equals): the
--   `first_ord` of its stop with the smallest CustNo, joined to the plan by source position. An integer
--   key on the 26 K national routes, where matching the plan's 1.3 M rows on the route key and CustNo
--   built a 225 MB hash table of plan rows.
-- * route_idx numbers routes in key order; it is the tie order of the top-up. It is taken in `shape`,
--   before the joins: a global sort of 26 K national rows of a few columns.

CREATE VIEW routes AS
WITH shape AS (
  SELECT DistributorID, AgentID, RouteDate,
         COUNT(*) AS planned_stops,
         SUM(CASE WHEN custype = 'customer' AND latitude IS NOT NULL
                  THEN CAST(round(latitude * 1000000000.0) AS BIGINT) END) AS lat_e9,
         SUM(CASE WHEN custype = 'customer' AND latitude IS NOT NULL
                  THEN CAST(round(longitude * 1000000000.0) AS BIGINT) END) AS lon_e9,
         COUNT(CASE WHEN custype = 'customer' AND latitude IS NOT NULL THEN 1 END) AS centroid_stops,
         first_value(first_ord ORDER BY CustNo) AS template_ord,
         ROW_NUMBER() OVER (ORDER BY DistributorID, AgentID, RouteDate) AS route_idx
  FROM plan_stops
  GROUP BY DistributorID, AgentID, RouteDate
)
SELECT s.route_idx,
       s.DistributorID, s.AgentID, s.RouteDate, s.planned_stops, s.centroid_stops,
       CASE WHEN s.centroid_stops > 0 THEN CAST(s.lat_e9 AS DOUBLE) / 1000000000.0 / s.centroid_stops END AS centroid_lat,
       CASE WHEN s.centroid_stops > 0 THEN CAST(s.lon_e9 AS DOUBLE) / 1000000000.0 / s.centroid_stops END AS centroid_lon,
       CASE WHEN o.target_stops > s.planned_stops THEN o.target_stops - s.planned_stops ELSE 0 END AS need,
       CASE WHEN o.start_lat IS NOT NULL THEN o.start_lat
            WHEN coord_issue(d.Latitude, d.Longitude) IS NULL THEN d.Latitude
            ELSE o.fallback_depot_lat END AS depot_lat,
       CASE WHEN o.start_lat IS NOT NULL THEN o.start_lon
            WHEN coord_issue(d.Latitude, d.Longitude) IS NULL THEN d.Longitude
            ELSE o.fallback_depot_lon END AS depot_lon,
       CASE WHEN o.start_lat IS NOT NULL THEN 'start_option'
            WHEN coord_issue(d.Latitude, d.Longitude) IS NULL THEN 'distributor'
            ELSE 'fallback' END AS depot_source,
       t.WD, t.SalesManTerritory, t.RouteName, t.RouteCode, t.SalesOfficeID
FROM shape AS s
JOIN MonthlyRoutePlan_temp AS t ON t._src_ord = s.template_ord
LEFT JOIN distributor_first AS d ON s.DistributorID = d.DistributorID
CROSS JOIN run_options AS o;
