#!/usr/bin/env python3
"""How close routeflow's stop order comes to a near-optimal one.

Compares the path lengths routeflow reports with paths found by LKH-3 (through the
`elkai` bindings) and with the nearest-neighbour paths, on a deterministic random sample
of routes.

Usage:
    python3 benches/quality.py STOPS.parquet [--sample 500] [--seed 42] [--runs 10] [--workers 2]

STOPS.parquet holds one row per stop with coordinates, as written by

    routeflow sql --format parquet --out stops.parquet "SELECT DistributorID, AgentID, \
RouteDate, CustNo, stop_no, latitude, longitude, depot_lat, depot_lon, route_km, nn_km \
FROM route_stops WHERE latitude IS NOT NULL"

Requires pyarrow and elkai (`pip install elkai`).

Method
------
A route is (DistributorID, AgentID, RouteDate); rows repeating a CustNo within a route are
the same stop and are counted once. Its path is OPEN: depot -> stop 1 -> ... -> stop N in
stop_no order, with no return leg. All distances are haversine with R = 6371 km, the
formula routeflow uses.

1. Sample: the routes with at least 3 stops, sorted by key, and `--sample` of them drawn
   with random.Random(seed) (all of them if there are fewer).
2. Consistency: each sampled route's path is recomputed from the coordinates in stop_no
   order and must match route_km within 1 m. A mismatch means the file is inconsistent
   (the comparison below would then be about numbers routeflow did not produce); they are
   listed, not fatal.
3. Reference path: LKH-3 solves a closed tour, not an open path, so the path is encoded as
   an asymmetric TSP (ATSP). Node 0 is the depot, node k the k-th stop, and the matrix holds
   the haversine distances in whole metres, except that every arc INTO the depot costs 0:
   d(i, 0) = 0 for every i. Any tour, rotated to start at the depot, is
   depot -> s1 -> ... -> sN -> depot, and it costs exactly the open path depot -> s1 -> ...
   -> sN because the closing arc sN -> depot is free. So the best tour is the best open
   path from the depot, ending anywhere. Since the matrix is asymmetric, elkai hands LKH-3
   an ATSP, which it solves through its 2N-node symmetric transformation. The returned
   tour is rotated to start at node 0 and its open path is measured with the unrounded
   haversine distances (the metre matrix only guides the search). Routes of at most 3
   stops are solved exactly by trying every order. LKH is seeded with its default fixed
   seed, so results are repeatable.
4. Report: sample totals of routeflow's route_km, the LKH paths and nn_km, their ratios,
   the worst route against LKH, how many routes routeflow made longer than nearest
   neighbour, and how many it made shorter than LKH (possible, since LKH is a heuristic;
   nothing is clamped). "Shorter" and "longer" ignore differences under 1 mm.

The script is a measurement: it exits 0 after printing, whatever the numbers. Bad input
(missing or unreadable file, missing columns) exits 2 with a message on stderr.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import os
import random
import statistics
import sys
import time

EARTH_RADIUS_KM = 6371.0
MATCH_TOLERANCE_KM = 0.001  # route_km must be reproduced within 1 m
TIE_KM = 1e-6  # differences under 1 mm count as equal
BRUTE_FORCE_MAX_STOPS = 3
MIN_STOPS = 3

REQUIRED_COLUMNS = (
    "DistributorID",
    "AgentID",
    "RouteDate",
    "CustNo",
    "stop_no",
    "latitude",
    "longitude",
    "depot_lat",
    "depot_lon",
    "route_km",
    "nn_km",
)


def fail(message: str) -> None:
    print(f"quality.py: {message}", file=sys.stderr)
    sys.exit(2)


# --- distances -------------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance, the same formula as routeflow's haversine_km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    s_phi = math.sin(abs(phi2 - phi1) / 2.0)
    s_lam = math.sin(abs(math.radians(lon2) - math.radians(lon1)) / 2.0)
    a = s_phi * s_phi + math.cos(phi1) * math.cos(phi2) * (s_lam * s_lam)
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))


def distance_matrix_km(points: list[tuple[float, float]]) -> list[list[float]]:
    n = len(points)
    d = [[0.0] * n for _ in range(n)]
    for i in range(n):
        lat_i, lon_i = points[i]
        for j in range(i + 1, n):
            d[i][j] = d[j][i] = haversine_km(lat_i, lon_i, *points[j])
    return d


def open_path_km(d: list[list[float]], order: list[int]) -> float:
    """Length of the path visiting `order` (node indices) in turn, no return leg."""
    return sum(d[a][b] for a, b in zip(order, order[1:]))


# --- the reference solver --------------------------------------------------------------------


def best_open_path(d: list[list[float]], runs: int) -> list[int]:
    """Near-optimal open path over all nodes of `d`, starting at node 0 (the depot)."""
    import elkai

    n = len(d)
    if n - 1 <= BRUTE_FORCE_MAX_STOPS:
        best = min(itertools.permutations(range(1, n)), key=lambda p: open_path_km(d, [0, *p]))
        return [0, *best]
    # Asymmetric matrix in whole metres; every arc into the depot is free, so a tour's cost
    # is the cost of the open path from the depot that it contains.
    matrix = [[0 if j == 0 or i == j else int(round(d[i][j] * 1000.0)) for j in range(n)] for i in range(n)]
    tour = elkai.DistanceMatrix(matrix).solve_tsp(runs=runs)
    if len(tour) == n + 1 and tour[0] == tour[-1]:
        tour = tour[:-1]  # elkai closes the tour by repeating its first node
    if sorted(tour) != list(range(n)):
        raise RuntimeError(f"elkai returned a tour that is not a permutation of {n} nodes")
    k = tour.index(0)
    return tour[k:] + tour[:k]


def evaluate(task: tuple) -> tuple:
    """One route: (key, stops, route_km, nn_km, recomputed_km, lkh_km)."""
    key, depot, stops, route_km, nn_km, runs = task
    points = [depot, *stops]  # stops are already in stop_no order
    d = distance_matrix_km(points)
    recomputed = open_path_km(d, list(range(len(points))))
    lkh = open_path_km(d, best_open_path(d, runs))
    return key, len(stops), route_km, nn_km, recomputed, lkh


# --- input -----------------------------------------------------------------------------------


def load_routes(path: str) -> tuple[dict, int, int]:
    """Routes keyed by (DistributorID, AgentID, RouteDate as text).

    Each value is (depot, [(stop_no, CustNo, lat, lon)], route_km, nn_km). Returns the routes,
    the number of duplicate (route, CustNo) rows dropped and the number of rows dropped for
    missing coordinates.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not os.path.exists(path):
        fail(f"{path}: no such file")
    try:
        schema = pq.read_schema(path) if os.path.isfile(path) else None
        table = pq.read_table(path)
        schema = table.schema if schema is None else schema
    except Exception as e:  # noqa: BLE001 - any reader error is bad input
        fail(f"{path}: cannot read as Parquet: {e}")
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        fail(f"{path}: missing column(s): {', '.join(missing)} (need: {', '.join(REQUIRED_COLUMNS)})")

    casts = {
        "DistributorID": pa.string(),
        "AgentID": pa.string(),
        "RouteDate": pa.string(),
        "CustNo": pa.string(),
        "stop_no": pa.int64(),
        "latitude": pa.float64(),
        "longitude": pa.float64(),
        "depot_lat": pa.float64(),
        "depot_lon": pa.float64(),
        "route_km": pa.float64(),
        "nn_km": pa.float64(),
    }
    cols = {}
    for name, typ in casts.items():
        try:
            cols[name] = pc.cast(table.column(name), typ).to_pylist()
        except Exception as e:  # noqa: BLE001
            fail(f"{path}: column {name} ({table.schema.field(name).type}) cannot be read as {typ}: {e}")

    routes: dict = {}
    seen: set = set()
    duplicates = 0
    no_coords = 0
    for dist, agent, date, cust, stop_no, lat, lon, dlat, dlon, route_km, nn_km in zip(
        *(cols[c] for c in REQUIRED_COLUMNS)
    ):
        if None in (lat, lon, dlat, dlon, stop_no, route_km, nn_km):
            no_coords += 1
            continue
        key = (dist, agent, date)
        if (key, cust) in seen:
            duplicates += 1
            continue
        seen.add((key, cust))
        route = routes.get(key)
        if route is None:
            route = routes[key] = ((dlat, dlon), [], route_km, nn_km)
        route[1].append((stop_no, cust or "", lat, lon))
    return routes, duplicates, no_coords


# --- report ----------------------------------------------------------------------------------


def key_text(key: tuple) -> str:
    return " ".join("-" if v is None else str(v) for v in key)


def key_sort(key: tuple) -> tuple:
    return tuple((v is None, "" if v is None else v) for v in key)


def pct(ratio: float) -> str:
    return f"{100.0 * (ratio - 1.0):+.2f}%"


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Compare routeflow's path lengths with LKH-3 and nearest neighbour."
    )
    parser.add_argument("stops", help="Parquet file of sequenced stops (see the module docstring)")
    parser.add_argument("--sample", type=int, default=500, help="routes to sample (default 500)")
    parser.add_argument("--seed", type=int, default=42, help="sampling seed (default 42)")
    parser.add_argument("--runs", type=int, default=10, help="LKH runs per route (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()
    if args.sample < 1 or args.runs < 1 or args.workers < 1:
        parser.error("--sample, --runs and --workers must be at least 1")

    started = time.perf_counter()
    try:
        import elkai  # noqa: F401
    except ImportError:
        fail("the elkai package is required: pip install elkai")

    routes, duplicates, no_coords = load_routes(args.stops)
    eligible = sorted((k for k, r in routes.items() if len(r[1]) >= MIN_STOPS), key=key_sort)
    rng = random.Random(args.seed)
    sample = eligible if len(eligible) <= args.sample else rng.sample(eligible, args.sample)
    sample.sort(key=key_sort)

    tasks = []
    for key in sample:
        depot, stops, route_km, nn_km = routes[key]
        stops.sort()  # stop_no, then CustNo
        tasks.append((key, depot, [(lat, lon) for _, _, lat, lon in stops], route_km, nn_km, args.runs))

    workers = min(args.workers, os.cpu_count() or 1, max(len(tasks), 1))
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            results = list(pool.imap(evaluate, tasks, chunksize=2))
    else:
        results = [evaluate(t) for t in tasks]
    elapsed = time.perf_counter() - started

    w = 24
    print(f"{'routes sampled':<{w}}{len(results)} (of {len(routes)}; "
          f"{len(eligible)} with at least {MIN_STOPS} stops; seed {args.seed})")
    if duplicates or no_coords:
        print(f"{'rows skipped':<{w}}{duplicates} repeated (route, CustNo), {no_coords} without coordinates")
    if not results:
        print(f"{'time':<{w}}{elapsed:.1f} s (no route to compare)")
        return 0

    total_rf = sum(r[2] for r in results)
    total_nn = sum(r[3] for r in results)
    total_lkh = sum(r[5] for r in results)
    mismatches = [r for r in results if abs(r[4] - r[2]) > MATCH_TOLERANCE_KM]
    longer_than_nn = [r for r in results if r[2] > r[3] + TIE_KM]
    shorter_than_lkh = [r for r in results if r[2] < r[5] - TIE_KM]
    gaps = [r[2] / r[5] if r[5] > 0 else 1.0 for r in results]
    worst_gap, worst = max(zip(gaps, results), key=lambda g: g[0])

    rf_lkh = total_rf / total_lkh if total_lkh > 0 else float("nan")
    rf_nn = total_rf / total_nn if total_nn > 0 else float("nan")
    above = 100.0 * (rf_lkh - 1.0)
    vs_nn = 100.0 * (1.0 - rf_nn)

    print(f"{'routeflow km':<{w}}{total_rf:.1f}")
    print(f"{'LKH-3 km (near-optimal)':<{w}}{total_lkh:.1f}")
    print(f"{'nearest neighbour km':<{w}}{total_nn:.1f}")
    print(f"{'routeflow / LKH':<{w}}{rf_lkh:.4f}  ({abs(above):.2f}% {'above' if above >= 0 else 'below'}; "
          f"target: at most 3%)")
    print(f"{'routeflow / NN':<{w}}{rf_nn:.4f}  ({abs(vs_nn):.2f}% "
          f"{'shorter' if vs_nn >= 0 else 'longer'} than nearest neighbour)")
    print(f"{'per-route vs LKH':<{w}}median {pct(statistics.median(gaps))}, "
          f"90th percentile {pct(sorted(gaps)[min(len(gaps) - 1, math.ceil(0.9 * len(gaps)) - 1)])}")
    print(f"{'routes longer than NN':<{w}}{len(longer_than_nn)}")
    if shorter_than_lkh:
        best_gap, best = min(zip(gaps, results), key=lambda g: g[0])
        print(f"{'routes shorter than LKH':<{w}}{len(shorter_than_lkh)} (LKH not optimal there; "
              f"most: {pct(best_gap)}, {key_text(best[0])}, {best[1]} stops)")
    else:
        print(f"{'routes shorter than LKH':<{w}}0")
    print(f"{'worst route vs LKH':<{w}}{pct(worst_gap)} ({key_text(worst[0])}, {worst[1]} stops)")
    print(f"{'route_km mismatches':<{w}}{len(mismatches)} (path recomputed from stop_no order, tolerance 1 m)")
    for r in sorted(mismatches, key=lambda r: -abs(r[4] - r[2]))[:10]:
        print(f"  {key_text(r[0])}: route_km {r[2]:.4f}, recomputed {r[4]:.4f} ({r[4] - r[2]:+.4f} km)")
    if len(mismatches) > 10:
        print(f"  ... and {len(mismatches) - 10} more")
    print(f"{'time':<{w}}{elapsed:.1f} s (LKH runs per route: {args.runs}; {workers} worker"
          f"{'s' if workers != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
