-- Stage 6, route_summary: one row per route with its stops, how many were added, how many have no
-- coordinates, and the path length of the chosen sequence and of nearest neighbour. The run summary's
-- km, the snapshot and `snapshots diff` use it. It is a stage of its own, after `sequence`, so that a
-- batch run reads the computed route_stops table instead of sequencing every route again.
CREATE VIEW route_summary AS
SELECT DistributorID, AgentID, RouteDate,
       COUNT(*) AS stops,
       COUNT(CASE WHEN origin <> 'plan' THEN 1 END) AS added,
       COUNT(CASE WHEN latitude IS NULL THEN 1 END) AS without_coordinates,
       MAX(route_km) AS route_km,
       MAX(nn_km) AS nn_km
FROM route_stops
GROUP BY DistributorID, AgentID, RouteDate;
