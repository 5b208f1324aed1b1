#!/usr/bin/env bash
# What the audit snapshot costs on the national run: alternates whole runs without and with it on the
# same generated data (PAIRS pairs, default 2, so machine noise hits both alike) and prints every
# time and the ratio of the medians.
#
# Usage: benches/snapshot_cost.sh [extra `routeflow run` options]
# Environment: as benches/national.sh, plus PAIRS.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS="${PAIRS:-2}"
without=()
with=()
for _ in $(seq "$PAIRS"); do
  without+=("$(benches/national.sh --no-snapshot "$@" | awk '/^wall time/ {print $3}')")
  with+=("$(benches/national.sh "$@" | awk '/^wall time/ {print $3}')")
done
python3 - "${without[*]}" "${with[*]}" <<'PY'
import statistics, sys
without = [float(x) for x in sys.argv[1].split()]
with_ = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(without), statistics.median(with_)
print(f"without snapshot  {' '.join(f'{x:.2f}' for x in without)} s (median {a:.2f})")
print(f"with snapshot     {' '.join(f'{x:.2f}' for x in with_)} s (median {b:.2f})")
print(f"snapshot adds     {100 * (b - a) / a:.1f}% (target: under 25%)")
PY
