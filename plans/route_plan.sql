-- Stage 7, route_plan: the table written back (rule 8). Every input row, unchanged but for StopNo and
-- custype of routed rows, plus one row per added prospect. A full join keeps both sides in one pass:
-- plan rows without a stop (not routed) keep their values, stops without a plan row are the added
-- prospects, and extra columns of the plan are NULL on added rows. Sorted by route and StopNo, then
-- source order, so that even identical-looking rows come out in one order at any concurrency.

CREATE VIEW route_plan AS
SELECT p.* EXCLUDE (_src_ord) REPLACE (
         COALESCE(p.CustNo, s.CustNo) AS CustNo,
         COALESCE(p.RouteDate, s.RouteDate) AS RouteDate,
         CASE WHEN p._src_ord IS NULL THEN s.added_name ELSE p.Name END AS Name,
         CASE WHEN p._src_ord IS NULL THEN s.added_wd ELSE p.WD END AS WD,
         CASE WHEN p._src_ord IS NULL THEN s.added_territory ELSE p.SalesManTerritory END AS SalesManTerritory,
         COALESCE(p.AgentID, s.AgentID) AS AgentID,
         CASE WHEN p._src_ord IS NULL THEN s.added_route_name ELSE p.RouteName END AS RouteName,
         COALESCE(p.DistributorID, s.DistributorID) AS DistributorID,
         CASE WHEN p._src_ord IS NULL THEN s.added_route_code ELSE p.RouteCode END AS RouteCode,
         CASE WHEN p._src_ord IS NULL THEN s.added_sales_office ELSE p.SalesOfficeID END AS SalesOfficeID,
         CASE WHEN s.CustNo IS NULL THEN p.StopNo ELSE s.stop_no END AS StopNo,
         CASE WHEN s.CustNo IS NULL THEN p.custype ELSE s.custype END AS custype
       )
FROM MonthlyRoutePlan_temp AS p
FULL OUTER JOIN route_stops AS s
  ON p.DistributorID = s.DistributorID AND p.AgentID = s.AgentID AND p.RouteDate = s.RouteDate
 AND p.CustNo = s.CustNo
ORDER BY DistributorID NULLS LAST, AgentID NULLS LAST, RouteDate NULLS LAST, StopNo NULLS LAST,
         CustNo NULLS LAST, p._src_ord NULLS LAST;
