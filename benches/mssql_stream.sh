#!/usr/bin/env bash
# Reading from SQL Server streams: peak memory of scanning a 20,000-row and a 2,000,000-row plan
# table through the real tiberius client, served by the project's TDS test server.
#
# Usage: benches/mssql_stream.sh            (ROWS="20000 2000000" to change the sizes)
# Prints, per size, the rows counted, wall time and routeflow's peak resident memory, then the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-20000 2000000}"
cargo build --release --quiet --bin routeflow
cargo build --release --quiet -p tds-server
target="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$target/tds-server" --port "$port" --database-file "$work/db.sqlite" --user sa --password 'Bench-Secret-1' > "$work/server.log" 2>&1 &
server_pid=$!
sleep 1
export ROUTEFLOW_MSSQL="Server=tcp:127.0.0.1,$port;Database=routes;User Id=sa;Password=Bench-Secret-1;Encrypt=DANGER_PLAINTEXT"
"$target/routeflow" -q copy --from fixtures/small --to mssql --tables customer,prospective,custvisit,distributors > /dev/null
results=()
for n in $ROWS; do
  python3 - "$work/in-$n" "$n" <<'PY'
import sys, os, datetime
import pyarrow as pa, pyarrow.compute, pyarrow.parquet as pq
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
i = pa.array(range(n), pa.int64())
s = pa.compute.cast(i, pa.string())
base = datetime.date(2026, 12, 1)
t = pa.table({
    "CustNo": pa.compute.binary_join_element_wise("C", s, ""),
    "RouteDate": pa.array([base + datetime.timedelta(days=k % 28) for k in range(n)], pa.date32()),
    "Name": pa.compute.binary_join_element_wise("Store ", s, ""),
    "WD": pa.array([k % 6 + 1 for k in range(n)], pa.int32()),
    "SalesManTerritory": pa.array(["T01"] * n), "AgentID": pa.compute.binary_join_element_wise("A", pa.compute.cast(pa.compute.divide(i, 1500), pa.string()), ""),
    "RouteName": pa.array(["Route"] * n), "DistributorID": pa.compute.binary_join_element_wise("D", pa.compute.cast(pa.compute.divide(i, 50000), pa.string()), ""),
    "RouteCode": pa.array(["R1"] * n), "SalesOfficeID": pa.array(["SO1"] * n),
    "StopNo": pa.array([None] * n, pa.int32()), "custype": pa.array([None] * n, pa.string()),
})
pq.write_table(t, f"{out}/MonthlyRoutePlan_temp.parquet")
PY
  "$target/routeflow" -q copy --from "$work/in-$n" --to mssql --tables MonthlyRoutePlan_temp > /dev/null
  /usr/bin/time -f '%e %M' -o "$work/time-$n" "$target/routeflow" -q sql --input mssql --format csv \
    "SELECT COUNT(*) AS n, SUM(LENGTH(Name)) AS name_chars FROM MonthlyRoutePlan_temp" > "$work/out-$n"
  read -r seconds max_kb < "$work/time-$n"
  counted=$(sed -n 2p "$work/out-$n" | cut -d, -f1)
  printf 'rows %9s  counted %9s  %7.2f s  peak %5d MiB\n' "$n" "$counted" "$seconds" $((max_kb / 1024))
  results+=("$max_kb")
done
if [ "${#results[@]}" -eq 2 ]; then
  python3 -c "import sys; a,b=map(int,sys.argv[1:]); print(f'peak memory ratio {b/a:.2f} (largest / smallest), difference {(b-a)/1024:.0f} MiB')" "${results[0]}" "${results[1]}"
fi
