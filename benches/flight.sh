#!/usr/bin/env bash
# `routeflow serve` on the national month (release build), against `routeflow sql --format parquet` on
# the same data, in one bench run:
#   1. the 1.3-million-row stage view `plan_stops` through the endpoint (Python's ADBC Flight SQL
#      driver): seconds to the first batch, to the last, rows per second;
#   2. the same query written by `routeflow sql --format parquet --out` (process start to exit);
#   3. first of all, a 2-million-row result (the plan's rows, all their columns, then again from the
#      top) through the endpoint;
# and the server's peak memory (VmHWM) after its catalog is built and after each stream, so what
# streaming adds shows apart from what the catalog holds. The client reports the result's Arrow size.
#
# Usage: benches/flight.sh      Environment: DATA (default /var/tmp/routeflow-national-s42-f1, made
# with `routeflow generate` when missing), PAIRS (1: how many times to repeat 1 and 2).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-/var/tmp/routeflow-national-s42-f1}"
PAIRS="${PAIRS:-1}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/routeflow"
python=$(bash tests/python/env.sh)
[ -d "$DATA" ] || "$bin" -q generate --scale national --seed 42 --output "$DATA"
work="$(mktemp -d)"
"$bin" -q serve --input "$DATA" --no-auth --port 0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
until grep -q "listening on" "$work/serve.out"; do sleep 0.2; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
hwm() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$server/status"; }
view="SELECT * FROM plan_stops"
big="SELECT * FROM MonthlyRoutePlan_temp UNION ALL SELECT * FROM MonthlyRoutePlan_temp LIMIT 2000000"
"$python" benches/flight_client.py "$url" "SELECT 1" > /dev/null
echo "server ready on $url; peak memory with the catalog built: $(hwm)"
# First, so that the peak (VmHWM) it reports is the stream's, not an earlier query's.
echo "flight  2 M rows: $("$python" benches/flight_client.py "$url" "$big")  server peak $(hwm)"
for i in $(seq "$PAIRS"); do
  echo "flight  $view: $("$python" benches/flight_client.py "$url" "$view")  server peak $(hwm)"
  start=$(date +%s.%N)
  "$bin" -q sql --input "$DATA" --format parquet --out "$work/view.parquet" "$view"
  echo "sql --format parquet  $view: $(echo "$(date +%s.%N) - $start" | bc) s, $(du -m "$work/view.parquet" | cut -f1) MB file"
done
