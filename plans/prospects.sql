-- Stage 3, with routes: the prospects the top-up may add (rule 4). It reads no table of the routes
-- stage, so a batch run materialises it alongside `routes`, whose aggregation leaves a core idle much of
-- the time, instead of inside the top-up. (Alongside `plan_stops` instead, reading the plan's stops from
-- the plan table, it was about as fast but the run's peak memory rose by up to 80 MiB.)

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
