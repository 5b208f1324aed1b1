-- Stage 5, sequence: every stop of every route, planned or added, with its StopNo (rule 7).
-- `sequence_stops` is a window function: DataFusion partitions the stops by route and sequences each
-- route as a whole, in parallel across partitions. Added prospects carry the route's template columns.

CREATE VIEW route_stops AS
WITH stops AS (
  SELECT DistributorID, AgentID, RouteDate, CustNo, custype, latitude, longitude, coord_issue,
         'plan' AS origin, CAST(NULL AS VARCHAR) AS added_name
  FROM plan_stops
  UNION ALL
  SELECT DistributorID, AgentID, RouteDate, CustNo, 'prospect', latitude, longitude,
         CAST(NULL AS VARCHAR), stage, Name
  FROM topup
),
sequenced AS (
  SELECT s.*, r.depot_lat, r.depot_lon,
         CASE WHEN s.origin = 'plan' THEN NULL ELSE r.WD END AS added_wd,
         CASE WHEN s.origin = 'plan' THEN NULL ELSE r.SalesManTerritory END AS added_territory,
         CASE WHEN s.origin = 'plan' THEN NULL ELSE r.RouteName END AS added_route_name,
         CASE WHEN s.origin = 'plan' THEN NULL ELSE r.RouteCode END AS added_route_code,
         CASE WHEN s.origin = 'plan' THEN NULL ELSE r.SalesOfficeID END AS added_sales_office,
         sequence_stops(s.CustNo, s.latitude, s.longitude, r.depot_lat, r.depot_lon)
           OVER (PARTITION BY s.DistributorID, s.AgentID, s.RouteDate) AS seq
  FROM stops AS s
  JOIN routes AS r
    ON s.DistributorID = r.DistributorID AND s.AgentID = r.AgentID AND s.RouteDate = r.RouteDate
)
SELECT DistributorID, AgentID, RouteDate, CustNo, custype, origin, latitude, longitude, coord_issue,
       depot_lat, depot_lon,
       get_field(seq, 'stop_no') AS stop_no, get_field(seq, 'route_km') AS route_km,
       get_field(seq, 'nn_km') AS nn_km,
       added_name, added_wd, added_territory, added_route_name, added_route_code, added_sales_office
FROM sequenced;

