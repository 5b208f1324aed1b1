#!/usr/bin/env bash
# An oversized route does not stall the night: the scarce national month with the plan rows of its
# first 20,000 stores collapsed into one "route" (DistributorID D001, AgentID UNASSIGNED, one date), as
# a NULL-ish agent code or a copy-paste error would. A whole release run (with its audit snapshot) is
# timed, process start to exit, with its peak memory; the route is sequenced along the Hilbert curve
# (more than 2,000 stops with coordinates) and must be reported in the summary. Then every row is
# checked to have survived, with SQL over the run's snapshot: every input row is in the output (the
# columns the run does not set, compared as multisets) and the output holds exactly read + added rows.
# Issue target: the whole run under 30 s on the 2-core development machine. The unchanged month is
# run too, in the same bench, for comparison.
#
# Usage: benches/oversized.sh   Environment: DATA (/var/tmp/routeflow-national), SEED (42),
# STORES (20000), BIN (a routeflow binary to time instead of this checkout's release build).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-/var/tmp/routeflow-national}"
SEED="${SEED:-42}"
STORES="${STORES:-20000}"
cargo build --release --quiet
bin="${BIN:-${CARGO_TARGET_DIR:-target}/release/routeflow}"
scarce="$DATA-scarce-s$SEED-f1"
if [ ! -f "$scarce/MonthlyRoutePlan_temp.parquet" ]; then
  "$bin" -q generate --scale national --seed "$SEED" --prospects scarce --output "$scarce"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
input="$work/input"
mkdir -p "$input"
for t in customer custvisit distributors prospective; do
  ln -s "$scarce/$t.parquet" "$input/$t.parquet"
done

# The plan, with every row of the first $STORES stores (in source order) moved onto one route.
"$bin" -q sql --input "$scarce" --format parquet --out "$input/MonthlyRoutePlan_temp.parquet" "
  WITH big AS (SELECT CustNo FROM MonthlyRoutePlan_temp WHERE CustNo IS NOT NULL
               GROUP BY CustNo ORDER BY MIN(_src_ord) LIMIT $STORES)
  SELECT p.* EXCLUDE (_src_ord) REPLACE (
           CASE WHEN b.CustNo IS NULL THEN p.DistributorID ELSE 'D001' END AS DistributorID,
           CASE WHEN b.CustNo IS NULL THEN p.AgentID ELSE 'UNASSIGNED' END AS AgentID,
           CASE WHEN b.CustNo IS NULL THEN p.RouteDate ELSE DATE '2026-12-01' END AS RouteDate)
  FROM MonthlyRoutePlan_temp p LEFT JOIN big b ON p.CustNo = b.CustNo
  ORDER BY p._src_ord"
echo "== the oversized route"
"$bin" -q sql --input "$input" "
  SELECT DistributorID, AgentID, RouteDate, COUNT(*) AS plan_rows, COUNT(DISTINCT CustNo) AS stores
  FROM MonthlyRoutePlan_temp GROUP BY 1, 2, 3 ORDER BY plan_rows DESC LIMIT 2"

echo "== the whole run (release, with its snapshot)"
out="$work/out"
snapshots="$work/snapshots"
/usr/bin/time -f '%e s wall, %U s user, %M KB peak RSS' \
  "$bin" -q run --input "$input" --output "$out" --snapshot-dir "$snapshots" --json > "$work/summary.json"
grep -E '"(read|added|written|curve_sequenced)"' "$work/summary.json" | tr -d ' ,' | paste -sd' ' || true
run_id="$(sed -n 's/^ *"run_id": "\(.*\)",$/\1/p' "$work/summary.json")"

echo "== the same month without the oversized route, for comparison"
/usr/bin/time -f '%e s wall, %U s user, %M KB peak RSS' \
  "$bin" -q run --input "$scarce" --output "$work/out-month" --snapshot-dir "$work/snapshots-month" --json > /dev/null

echo "== every row survives (snapshot of run $run_id)"
cols="CustNo, RouteDate, Name, WD, SalesManTerritory, AgentID, RouteName, DistributorID, RouteCode, SalesOfficeID"
"$bin" -q sql --input "$input" --snapshot-dir "$snapshots" --snapshot "$run_id" "
  SELECT (SELECT COUNT(*) FROM snapshot_input.MonthlyRoutePlan_temp) AS read,
         (SELECT COUNT(*) FROM snapshot_output.MonthlyRoutePlan_temp) AS written,
         (SELECT COUNT(*) FROM (SELECT $cols FROM snapshot_input.MonthlyRoutePlan_temp
                                EXCEPT ALL
                                SELECT $cols FROM snapshot_output.MonthlyRoutePlan_temp) AS m) AS input_rows_missing,
         (SELECT COUNT(*) FROM snapshot_output.MonthlyRoutePlan_temp
           WHERE DistributorID = 'D001' AND AgentID = 'UNASSIGNED' AND StopNo IS NULL) AS oversized_rows_without_stopno"
