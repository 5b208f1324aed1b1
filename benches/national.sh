#!/usr/bin/env bash
# The national run, end to end: generate national-scale data once, run routeflow on it (process start
# to exit, release build), and print routes per second, peak memory and CPU time (steadier than wall
# time on a shared machine). Then, in the same bench run, the plain I/O of it: read the five tables
# (every contract column) and write a plan-sized table with DataFusion through the same source and
# sink, and the ratio of the two (issue target: at most 3x); and the sequencing operator's CPU time
# alone (from EXPLAIN ANALYZE of a lazy `routeflow sql` over the same data), which divided by the
# cores is a lower bound on the run that no other stage can lower.
#
# Usage: benches/national.sh [extra `routeflow run` options, e.g. --sequence nearest-neighbor]
# (the run writes its audit snapshot under the temporary output unless --no-snapshot is given)
# Environment: DATA (default /var/tmp/routeflow-national), SEED (42), FACTOR (1), BASELINE (1; 0 skips
# the plain read/write and the sequencing time).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-/var/tmp/routeflow-national}"
SEED="${SEED:-42}"
FACTOR="${FACTOR:-1}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/routeflow"
data="$DATA-s$SEED-f$FACTOR"
if [ ! -f "$data/MonthlyRoutePlan_temp.parquet" ]; then
  "$bin" -q generate --scale national --seed "$SEED" --factor "$FACTOR" --output "$data"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
/usr/bin/time -f '%e %M %U %S' -o "$out/time" "$bin" -q run --input "$data" --output "$out/result" --json "$@" > "$out/summary.json"
read -r seconds max_kb user_s sys_s < "$out/time"
plain_seconds=0
if [ "${BASELINE:-1}" != 0 ]; then
  # Reading: every contract column of the four other tables; reading and writing: the plan table,
  # copied through the file source and the Parquet sink the run uses.
  /usr/bin/time -f '%e' -o "$out/time-read" "$bin" -q sql --input "$data" --format csv \
    "SELECT (SELECT COUNT(CustNo) + COUNT(latitude) + COUNT(longitude) + COUNT(address3) FROM customer)
          + (SELECT COUNT(tdlinx) + COUNT(latitude) + COUNT(longitude) + COUNT(barangay_code)
                    + COUNT(store_name_nielsen) FROM prospective)
          + (SELECT COUNT(CustID) + COUNT(AgentID) + COUNT(TransDate) FROM custvisit)
          + (SELECT COUNT(DistributorID) + COUNT(Latitude) + COUNT(Longitude) FROM distributors) AS cells" \
    > /dev/null
  /usr/bin/time -f '%e' -o "$out/time-copy" "$bin" -q copy --from "$data" --to "$out/plain" \
    --tables MonthlyRoutePlan_temp > /dev/null
  plain_seconds=$(python3 -c "import sys; print(sum(float(open(f).read()) for f in sys.argv[1:]))" \
    "$out/time-read" "$out/time-copy")
  # The sequencing operator's own CPU time (its EXPLAIN ANALYZE elapsed_compute, summed over
  # partitions), with the run's --sequence mode: divided by the cores, a lower bound on the run that
  # no other stage can lower.
  sequence=()
  prev=""
  for arg in "$@"; do
    case "$prev" in --sequence) sequence=(--sequence "$arg") ;; esac
    case "$arg" in --sequence=*) sequence=("$arg") ;; esac
    prev="$arg"
  done
  "$bin" -q sql --input "$data" --format csv "${sequence[@]}" \
    "EXPLAIN ANALYZE SELECT COUNT(*) FROM route_stops" > "$out/explain.csv"
fi
snapshot_mb="$(du -sm "$out/result/snapshots" 2>/dev/null | cut -f1 || true)"
python3 - "$out/summary.json" "$seconds" "$max_kb" "${snapshot_mb:-0}" "$plain_seconds" "$user_s" "$sys_s" "$out/explain.csv" <<'PY'
import json, os, re, sys
s = json.load(open(sys.argv[1]))
seconds, max_kb, snapshot_mb = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
plain = float(sys.argv[5])
cpu = float(sys.argv[6]) + float(sys.argv[7])
routes = s["routes"]["total"]
print(f"routes            {routes}")
print(f"rows in / out     {s['rows']['read']} / {s['rows']['written']}")
print(f"wall time         {seconds:.2f} s (process start to exit)")
print(f"routes per second {routes / seconds:.0f}")
print(f"cpu time          {cpu:.2f} s (user + system; {cpu / seconds:.2f} cores busy on average)")
print(f"peak memory       {max_kb / 1024:.0f} MiB")
print(f"path km           {s['distance_km']['sequence']:.0f} (nearest neighbour {s['distance_km']['nearest_neighbor']:.0f}, {s['distance_km']['improvement_pct']:.2f}% shorter)")
print("phases            " + ", ".join(f"{p['name']} {p['seconds']:.2f}s" for p in s["phases"]))
print(f"snapshot          {snapshot_mb + ' MB' if s['snapshot'] else 'none'}")
if plain > 0:
    print(f"plain read/write  {plain:.2f} s (same tables read, plan-sized table written)")
    print(f"ratio to plain    {seconds / plain:.2f}x")
explain = sys.argv[8]
if os.path.exists(explain):
    m = re.search(r"SequenceExec.*?elapsed_compute=([0-9.]+)(ns|µs|ms|s)\b", open(explain).read())
    if m:
        unit = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]
        cpu_seq = float(m.group(1)) * unit
        floor = cpu_seq / os.cpu_count()
        print(f"sequencing alone  {cpu_seq:.2f} CPU-s: at least {floor:.2f} s on {os.cpu_count()} cores, "
              f"{floor / plain:.2f}x plain by itself")
PY
