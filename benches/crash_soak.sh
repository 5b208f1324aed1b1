#!/usr/bin/env bash
# Crash soak, long form: the tests of tests/it/soak.rs (module `soak::`) with 200 trials per scenario
# instead of CI's 20. Each trial puts the target back in last night's state, starts `routeflow run`,
# stops it at a random moment of the write (SIGKILL, SIGTERM, or a connection the SQL Server
# stand-in drops at a random byte offset), checks that readers see last night's or tonight's result
# whole, runs again and compares the target with an uninterrupted run, row for row. Scenarios:
#   files-sigkill                      file output (Parquet dataset + run_summary.json)
#   in-place-sigkill, table-sigkill    SQL Server (TDS stand-in), --write in-place / table
#   mssql-drops                        dropped connections, both write modes (runs until N have fired)
#   files-, in-place-, table-sigterm   SIGTERM, N spread over the three
#   real-*                             SIGKILL and SIGTERM on the server of ROUTEFLOW_TEST_MSSQL, if set
# It prints one line per scenario (trials, failures, rows compared, kills before/during/after the
# write, exit codes for SIGTERM) and fails listing every failing trial with the seed that replays it.
#
# Usage: benches/crash_soak.sh
# Environment: ROUTEFLOW_SOAK_TRIALS (200 per scenario), ROUTEFLOW_SOAK_SEED (replay a printed seed;
# default: a fresh one), ROUTEFLOW_TEST_MSSQL (a real server's connection string: adds the real-*
# scenarios) with ROUTEFLOW_SOAK_REAL_TRIALS (20), TEST_THREADS (2: scenarios run two at a time).
#
# Time (debug build, 2 shared cores, two scenarios at once), from the CI-sized run (20 trials a
# scenario: 181 s): about 1 s a file trial and 2.5-4 s a stand-in SQL Server trial (a killed run and
# a re-run of ~1 s each plus reads; the stand-in is a debug build too), so about 20 minutes for 200
# trials a scenario, plus the build. A Babelfish trial takes ~10 s (its logins and reads are slow):
# 20 real trials a scenario add about 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROUTEFLOW_SOAK_TRIALS="${ROUTEFLOW_SOAK_TRIALS:-200}"
export ROUTEFLOW_SOAK_REAL_TRIALS="${ROUTEFLOW_SOAK_REAL_TRIALS:-20}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

cargo test --workspace --locked --no-run
start=$(date +%s)
set +e
cargo test --workspace --locked -- soak:: --nocapture --test-threads "${TEST_THREADS:-2}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
echo "== crash soak, $ROUTEFLOW_SOAK_TRIALS trials a scenario, $(( $(date +%s) - start )) s"
grep '^soak ' "$log" | grep -v ' write .* after stage ' || true
exit "$status"
