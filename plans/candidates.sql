-- Stage 4, candidates: the inputs of the prospect top-up (rule 4), all set-wise. The allocation itself
-- (greedy by distance, each prospect at most once) is the `topup` table, computed from these three.

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

-- Prospects that may be added: valid coordinates, not a stop of any route in the plan, never visited,
-- and not a customer (then it is not a prospect any more). One anti-join against the three lists of
-- ids: three anti-joins each built a hash table of the prospects' rows again.
CREATE VIEW eligible_prospects AS
SELECT p.tdlinx, p.store_name_nielsen, p.latitude, p.longitude,
       CASE WHEN trim(p.barangay_code) <> '' THEN trim(p.barangay_code) END AS barangay
FROM prospect_first AS p
WHERE coord_issue(p.latitude, p.longitude) IS NULL
  AND NOT EXISTS (
    SELECT 1
    FROM (SELECT CustNo AS id FROM plan_stops
          UNION ALL SELECT CustID FROM custvisit
          UNION ALL SELECT CustNo FROM customer) AS taken
    WHERE taken.id = p.tdlinx
  );
