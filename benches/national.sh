#!/usr/bin/env bash
# The national run, end to end: generate national-scale data once, run routeflow on it (process start
# to exit, release build), and print routes per second and peak memory.
#
# Usage: benches/national.sh [extra `routeflow run` options, e.g. --sequence nearest-neighbor]
# (the run writes its audit snapshot under the temporary output unless --no-snapshot is given)
# Environment: DATA (default /var/tmp/routeflow-national), SEED (42), FACTOR (1).
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
/usr/bin/time -f '%e %M' -o "$out/time" "$bin" -q run --input "$data" --output "$out/result" --json "$@" > "$out/summary.json"
read -r seconds max_kb < "$out/time"
snapshot_mb="$(du -sm "$out/result/snapshots" 2>/dev/null | cut -f1 || true)"
python3 - "$out/summary.json" "$seconds" "$max_kb" "${snapshot_mb:-0}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
seconds, max_kb, snapshot_mb = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
routes = s["routes"]["total"]
print(f"routes            {routes}")
print(f"rows in / out     {s['rows']['read']} / {s['rows']['written']}")
print(f"wall time         {seconds:.2f} s (process start to exit)")
print(f"routes per second {routes / seconds:.0f}")
print(f"peak memory       {max_kb / 1024:.0f} MiB")
print(f"path km           {s['distance_km']['sequence']:.0f} (nearest neighbour {s['distance_km']['nearest_neighbor']:.0f}, {s['distance_km']['improvement_pct']:.2f}% shorter)")
print("phases            " + ", ".join(f"{p['name']} {p['seconds']:.2f}s" for p in s["phases"]))
print(f"snapshot          {snapshot_mb + ' MB' if s['snapshot'] else 'none'}")
PY
