-- Stage 7, route_plan: the table written back (rule 8). Every input row, unchanged but for StopNo and
-- custype of routed rows, plus one row per added prospect. Sorted so that even identical-looking rows
-- come out in one order at any concurrency: by distributor, so that each distributor's rows are
-- together (the snapshot partitions by it); within it routed rows by route (route_idx numbers routes
-- in DistributorID, AgentID, RouteDate order), StopNo, then source order; then the distributor's rows
-- that could not be routed, by the other keys as far as they have them, then source order. Past the
-- short DistributorID the sort compares integers for routed rows: comparing AgentID and RouteDate on
-- every pair of rows was most of the write's sort time.
--
-- Two branches rather than one full join of the plan with every stop: the join keeps only the narrow
-- planned stops in its hash table and streams the wide plan rows past it (the table written back is
-- the largest thing a run holds, so this is where memory peaks), and the added rows come straight
-- from route_stops, with their route's template columns from `routes`. Their `p` is an empty join, so
-- that every column of the plan, including any the contract does not name, is there and NULL but for
-- the template columns.

CREATE VIEW route_plan AS
SELECT * EXCLUDE (_route, _stop, _ord)
FROM (
  SELECT p.* EXCLUDE (_src_ord) REPLACE (
           CASE WHEN s.CustNo IS NULL THEN p.StopNo ELSE s.stop_no END AS StopNo,
           CASE WHEN s.CustNo IS NULL THEN p.custype ELSE s.custype END AS custype
         ),
         s.route_idx AS _route, s.stop_no AS _stop, p._src_ord AS _ord
  FROM (SELECT DistributorID, AgentID, RouteDate, CustNo, route_idx, stop_no, custype
        FROM route_stops WHERE origin = 'plan') AS s
  RIGHT JOIN MonthlyRoutePlan_temp AS p
    ON p.DistributorID = s.DistributorID AND p.AgentID = s.AgentID AND p.RouteDate = s.RouteDate
   AND p.CustNo = s.CustNo
  UNION ALL
  SELECT p.* EXCLUDE (_src_ord) REPLACE (
           s.CustNo AS CustNo,
           s.RouteDate AS RouteDate,
           s.added_name AS Name,
           r.WD AS WD,
           r.SalesManTerritory AS SalesManTerritory,
           s.AgentID AS AgentID,
           r.RouteName AS RouteName,
           s.DistributorID AS DistributorID,
           r.RouteCode AS RouteCode,
           r.SalesOfficeID AS SalesOfficeID,
           s.stop_no AS StopNo,
           s.custype AS custype
         ),
         s.route_idx AS _route, s.stop_no AS _stop, CAST(NULL AS BIGINT) AS _ord
  FROM routes AS r
  JOIN route_stops AS s ON s.route_idx = r.route_idx
  LEFT JOIN MonthlyRoutePlan_temp AS p ON FALSE
  WHERE s.origin <> 'plan'
) AS u
ORDER BY DistributorID NULLS LAST, _route NULLS LAST, _stop NULLS LAST, AgentID NULLS LAST,
         RouteDate NULLS LAST, StopNo NULLS LAST, _ord NULLS LAST;
