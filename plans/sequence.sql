-- Stage 5, sequence: every stop of every route, planned or added, with its StopNo (rule 7).
-- `sequence_input` lists the stops with their route's number and depot; routes come first so that the
-- join's hash table holds the 26 K national routes, not the 1.6 M stops. (The template columns of
-- added prospects are joined in `route_plan` by route_idx: carried here they would be five string
-- columns on every one of 1.6 M national stops, held in memory until the write.) The `route_stops`
-- table is SequenceExec over it (src/plan/sequence_exec.rs): whole routes per partition, in parallel
-- across partitions hashed by route key, each sequenced on plain arrays; it appends stop_no, route_km
-- (the chosen path) and nn_km (nearest neighbour) to every row.

CREATE VIEW sequence_input AS
WITH stops AS (
  SELECT DistributorID, AgentID, RouteDate, CustNo, custype, latitude, longitude, coord_issue,
         'plan' AS origin, CAST(NULL AS VARCHAR) AS added_name
  FROM plan_stops
  UNION ALL
  SELECT DistributorID, AgentID, RouteDate, CustNo, 'prospect', latitude, longitude,
         CAST(NULL AS VARCHAR), stage, Name
  FROM topup
)
SELECT s.DistributorID, s.AgentID, s.RouteDate, s.CustNo, s.custype, s.origin, s.latitude, s.longitude,
       s.coord_issue, r.route_idx, r.depot_lat, r.depot_lon, s.added_name
FROM routes AS r
JOIN stops AS s
  ON s.DistributorID = r.DistributorID AND s.AgentID = r.AgentID AND s.RouteDate = r.RouteDate;
