#!/usr/bin/env bash
# The national run, end to end, on each data profile: generate national-scale data once per profile,
# run routeflow on it (process start to exit, release build), and print routes per second, peak memory,
# CPU time (steadier than wall time on a shared machine), the phases, and the top-up's two stages
# (barangay, radius) with what each gave. Then, in the same bench run, the plain I/O of it: read the
# five tables (every contract column) and write a plan-sized table with DataFusion through the same
# source and sink; and the sequencing operator's CPU time alone (from EXPLAIN ANALYZE of a lazy
# `routeflow sql` over the same data). The run's overhead is its wall time over (plain I/O + the
# sequencing's CPU time spread over the cores): the part of the run that neither the I/O nor the
# sequencing's own compute explains (issue target: at most 2x).
#
# Profiles alternate within a round, and rounds repeat, so both profiles see the same machine; with
# ROUNDS > 1 the medians are printed too.
#
# Usage: benches/national.sh [extra `routeflow run` options, e.g. --no-snapshot --sequence nearest-neighbor]
# (the run writes its audit snapshot under the temporary output unless --no-snapshot is given)
# Environment: PROFILE (plentiful, scarce, or "plentiful scarce"; default plentiful), ROUNDS (1),
# DATA (default /var/tmp/routeflow-national), SEED (42), FACTOR (1), BASELINE (1; 0 skips the plain
# read/write and the sequencing time), BIN (a routeflow binary to time instead of this checkout's).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-/var/tmp/routeflow-national}"
SEED="${SEED:-42}"
FACTOR="${FACTOR:-1}"
PROFILE="${PROFILE:-plentiful}"
ROUNDS="${ROUNDS:-1}"
cargo build --release --quiet
bin="${BIN:-${CARGO_TARGET_DIR:-target}/release/routeflow}"
gen="${CARGO_TARGET_DIR:-target}/release/routeflow"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

data_dir() {
  case "$1" in
    plentiful) echo "$DATA-s$SEED-f$FACTOR" ;;
    *) echo "$DATA-$1-s$SEED-f$FACTOR" ;;
  esac
}

for profile in $PROFILE; do
  data="$(data_dir "$profile")"
  if [ ! -f "$data/MonthlyRoutePlan_temp.parquet" ]; then
    "$gen" -q generate --scale national --seed "$SEED" --factor "$FACTOR" --prospects "$profile" --output "$data"
  fi
done

# The sequencing mode of the run, for the sequencing-alone measurement.
sequence=()
prev=""
for arg in "$@"; do
  case "$prev" in --sequence) sequence=(--sequence "$arg") ;; esac
  case "$arg" in --sequence=*) sequence=("$arg") ;; esac
  prev="$arg"
done

for round in $(seq 1 "$ROUNDS"); do
  for profile in $PROFILE; do
    data="$(data_dir "$profile")"
    run="$out/$profile-$round"
    mkdir -p "$run"
    # The top-up logs each stage's time at debug level; everything else stays quiet.
    RUST_LOG="warn,routeflow::plan::topup=debug" /usr/bin/time -f '%e %M %U %S' -o "$run/time" \
      "$bin" --log-format json run --input "$data" --output "$run/result" --json "$@" \
      > "$run/summary.json" 2> "$run/log.json"
    du -sm "$run/result/snapshots" 2>/dev/null | cut -f1 > "$run/snapshot_mb" || true
    rm -rf "$run/result"
    if [ "${BASELINE:-1}" != 0 ]; then
      # Reading: every contract column of the four other tables; reading and writing: the plan table,
      # copied through the file source and the Parquet sink the run uses.
      /usr/bin/time -f '%e' -o "$run/time-read" "$bin" -q sql --input "$data" --format csv \
        "SELECT (SELECT COUNT(CustNo) + COUNT(latitude) + COUNT(longitude) + COUNT(address3) FROM customer)
              + (SELECT COUNT(tdlinx) + COUNT(latitude) + COUNT(longitude) + COUNT(barangay_code)
                        + COUNT(store_name_nielsen) FROM prospective)
              + (SELECT COUNT(CustID) + COUNT(AgentID) + COUNT(TransDate) FROM custvisit)
              + (SELECT COUNT(DistributorID) + COUNT(Latitude) + COUNT(Longitude) FROM distributors) AS cells" \
        > /dev/null
      /usr/bin/time -f '%e' -o "$run/time-copy" "$bin" -q copy --from "$data" --to "$run/plain" \
        --tables MonthlyRoutePlan_temp > /dev/null
      rm -rf "$run/plain"
      # The sequencing operator's own CPU time (its EXPLAIN ANALYZE elapsed_compute, summed over
      # partitions), with the run's --sequence mode.
      "$bin" -q sql --input "$data" --format csv "${sequence[@]}" \
        "EXPLAIN ANALYZE SELECT COUNT(*) FROM route_stops" > "$run/explain.csv"
    fi
  done
done

python3 - "$out" "$ROUNDS" $PROFILE <<'PY'
import json, os, re, statistics, sys
out, rounds, profiles = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
cores = os.cpu_count()

def load(profile, r):
    d = os.path.join(out, f"{profile}-{r}")
    s = json.load(open(os.path.join(d, "summary.json")))
    seconds, max_kb, user_s, sys_s = open(os.path.join(d, "time")).read().split()
    m = {"summary": s, "seconds": float(seconds), "mib": int(max_kb) / 1024, "cpu": float(user_s) + float(sys_s)}
    m["snapshot_mb"] = (open(os.path.join(d, "snapshot_mb")).read().strip() or "0") if os.path.exists(os.path.join(d, "snapshot_mb")) else "0"
    stages = {}
    for line in open(os.path.join(d, "log.json")):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        f = e.get("fields", {})
        if f.get("message") == "top-up stage":
            stages[f["stage"]] = (float(f["seconds"]), int(f["given"]), int(f["routes"]), int(f["regions"]))
    m["stages"] = stages
    plain = 0.0
    for name in ("time-read", "time-copy"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            plain += float(open(p).read())
    m["plain"] = plain
    m["seq_cpu"] = None
    p = os.path.join(d, "explain.csv")
    if os.path.exists(p):
        hit = re.search(r"SequenceExec.*?elapsed_compute=([0-9.]+)(ns|µs|ms|s)\b", open(p).read())
        if hit:
            m["seq_cpu"] = float(hit.group(1)) * {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[hit.group(2)]
    return m

def report(profile, m, label):
    s = m["summary"]
    routes = s["routes"]["total"]
    print(f"== {profile} {label}")
    print(f"routes            {routes} ({s['routes'].get('short_after_topup', 'n/a')} still short after the top-up)")
    print(f"rows in / out     {s['rows']['read']} / {s['rows']['written']}")
    print(f"wall time         {m['seconds']:.2f} s (process start to exit)")
    print(f"routes per second {routes / m['seconds']:.0f}")
    print(f"cpu time          {m['cpu']:.2f} s (user + system; {m['cpu'] / m['seconds']:.2f} cores busy on average)")
    print(f"peak memory       {m['mib']:.0f} MiB")
    d = s["distance_km"]
    print(f"path km           {d['sequence']:.0f} (nearest neighbour {d['nearest_neighbor']:.0f}, {d['improvement_pct']:.2f}% shorter)")
    print("phases            " + ", ".join(f"{p['name']} {p['seconds']:.2f}s" for p in s["phases"]))
    for stage in ("barangay", "radius"):
        if stage in m["stages"]:
            secs, given, n, regions = m["stages"][stage]
            print(f"top-up {stage:<10} {secs:.3f} s, {given} prospects to {n} routes in {regions} regions")
        else:
            print(f"top-up {stage:<10} not run (no route left short with candidates)")
    print(f"snapshot          {m['snapshot_mb'] + ' MB' if s['snapshot'] else 'none'}")
    if m["plain"] > 0:
        print(f"plain read/write  {m['plain']:.2f} s (same tables read, plan-sized table written)")
        print(f"ratio to plain    {m['seconds'] / m['plain']:.2f}x")
    if m["seq_cpu"] is not None:
        floor = m["seq_cpu"] / cores
        print(f"sequencing alone  {m['seq_cpu']:.2f} CPU-s: at least {floor:.2f} s on {cores} cores")
        if m["plain"] > 0:
            print(f"overhead ratio    {m['seconds'] / (m['plain'] + floor):.2f}x (run / (plain I/O + sequencing alone))")

for r in range(1, rounds + 1):
    for profile in profiles:
        report(profile, load(profile, r), f"(round {r})")
if rounds > 1:
    print()
    for profile in profiles:
        ms = [load(profile, r) for r in range(1, rounds + 1)]
        med = lambda f: statistics.median(f(m) for m in ms)
        routes = ms[0]["summary"]["routes"]["total"]
        topup = lambda m: next(p["seconds"] for p in m["summary"]["phases"] if p["name"] == "topup")
        line = (f"median {profile}: {med(lambda m: m['seconds']):.2f} s, "
                f"{routes / med(lambda m: m['seconds']):.0f} routes/s, "
                f"{med(lambda m: m['mib']):.0f} MiB, cpu {med(lambda m: m['cpu']):.2f} s, topup {med(topup):.2f} s")
        for stage in ("barangay", "radius"):
            if all(stage in m["stages"] for m in ms):
                line += f", {stage} {med(lambda m: m['stages'][stage][0]):.3f} s"
        if all(m["plain"] > 0 and m["seq_cpu"] is not None for m in ms):
            line += f", overhead {med(lambda m: m['seconds'] / (m['plain'] + m['seq_cpu'] / cores)):.2f}x"
        print(line)
PY
