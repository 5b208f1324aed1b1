#!/usr/bin/env bash
# Two routeflow builds in alternating pairs on the national data of each profile: for a change that
# must not slow anything down, the median of every phase for each build, measured in the same minutes
# on this shared machine. The data comes from benches/national.sh (run it once per profile first).
#
# Usage: benches/compare.sh BEFORE_BIN AFTER_BIN [extra `routeflow run` options]
# Environment: PROFILE ("plentiful scarce"), PAIRS (3), DATA, SEED, FACTOR as in national.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
before="$1" after="$2"
shift 2
DATA="${DATA:-/var/tmp/routeflow-national}"
SEED="${SEED:-42}"
FACTOR="${FACTOR:-1}"
PROFILE="${PROFILE:-plentiful scarce}"
PAIRS="${PAIRS:-3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for pair in $(seq 1 "$PAIRS"); do
  for profile in $PROFILE; do
    case "$profile" in
      plentiful) data="$DATA-s$SEED-f$FACTOR" ;;
      *) data="$DATA-$profile-s$SEED-f$FACTOR" ;;
    esac
    for side in before after; do
      bin="$before"
      [ "$side" = after ] && bin="$after"
      /usr/bin/time -f '%e %M' -o "$out/$profile-$side-$pair.time" \
        "$bin" -q run --input "$data" --output "$out/result" --json --no-snapshot "$@" > "$out/$profile-$side-$pair.json"
      rm -rf "$out/result"
    done
  done
done
python3 - "$out" "$PAIRS" $PROFILE <<'PY'
import json, os, statistics, sys
out, pairs, profiles = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for profile in profiles:
    print(f"== {profile}: medians of {pairs} alternating pairs (before -> after, after/before)")
    rows = {}
    for side in ("before", "after"):
        for p in range(1, pairs + 1):
            base = os.path.join(out, f"{profile}-{side}-{p}")
            s = json.load(open(base + ".json"))
            seconds, kb = open(base + ".time").read().split()
            rows.setdefault(("wall", side), []).append(float(seconds))
            rows.setdefault(("peak MiB", side), []).append(int(kb) / 1024)
            for ph in s["phases"]:
                rows.setdefault((ph["name"], side), []).append(ph["seconds"])
    names = []
    for (name, _side) in rows:
        if name not in names:
            names.append(name)
    for name in names:
        b, a = statistics.median(rows[(name, "before")]), statistics.median(rows[(name, "after")])
        if max(a, b) < 0.02:
            continue
        print(f"  {name:<14} {b:8.2f} -> {a:8.2f}   {a / b if b else float('nan'):5.2f}x")
PY
