-- Stage 4, candidates: the inputs of the prospect top-up (rule 4), all set-wise. The allocation itself
-- (greedy by distance, each prospect at most once) is the `topup` table, computed from these two and
-- `eligible_prospects` (plans/prospects.sql).

-- Routes below the target, with what they need and their centroid.
CREATE VIEW topup_routes AS
SELECT route_idx, DistributorID, AgentID, RouteDate, centroid_lat, centroid_lon, need
FROM routes
WHERE need > 0;

-- Barangay codes of each short route's customers (whether or not their coordinates are valid),
-- trimmed; a blank code never matches. (The routes come first so that the join's hash table holds them,
-- not the stops.)
CREATE VIEW route_barangays AS
SELECT DISTINCT r.route_idx, trim(s.address3) AS code
FROM topup_routes AS r
JOIN plan_stops AS s
  ON s.DistributorID = r.DistributorID AND s.AgentID = r.AgentID AND s.RouteDate = r.RouteDate
WHERE s.custype = 'customer' AND trim(s.address3) <> '';
