"""What an analyst's notebook does against `routeflow serve`, through Python's ADBC Flight SQL driver.

Run by tests/it/serve/python.rs with the server's address, a user, the CA certificate that signed the
server's, the route to look up and a snapshot run id. Every check asserts; the last line printed is a
JSON summary the Rust test compares with `routeflow sql`.
"""

import json
import sys

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import polars as pl
import pyarrow as pa


def connect(uri, user, password, ca):
    return flight_sql.connect(
        uri,
        db_kwargs={
            "username": user,
            "password": password,
            adbc_driver_flightsql.DatabaseOptions.TLS_ROOT_CERTS.value: ca,
        },
    )


def expect_error(what, fn, *needles):
    try:
        fn()
    except Exception as e:  # the driver raises its own DB-API error classes
        text = str(e)
        assert any(n in text for n in needles), f"{what}: unexpected error {text!r}"
        return text
    raise AssertionError(f"{what}: no error")


def table_names(conn):
    """(schema, table) pairs from adbc_get_objects, as a tool's object browser lists them."""
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    names = set()
    for catalog in objects:
        for schema in catalog["catalog_db_schemas"] or []:
            for table in schema["db_schema_tables"] or []:
                names.add((schema["db_schema_name"], table["table_name"]))
    return names


def main():
    uri, user, password, ca_path, agent, date, run_id = sys.argv[1:8]
    ca = open(ca_path).read()
    summary = {}

    refused = expect_error(
        "wrong password",
        lambda: connect(uri, user, password + "x", ca).cursor().execute("SELECT 1"),
        "wrong user or password",
        "Unauthenticated",
    )
    summary["wrong_password"] = refused.splitlines()[0]

    with connect(uri, user, password, ca) as conn:
        names = table_names(conn)
        for expected in [
            ("public", "MonthlyRoutePlan_temp"),
            ("public", "route_stops"),
            ("snapshot_output", "MonthlyRoutePlan_temp"),
            ("routeflow", "snapshots"),
        ]:
            assert expected in names, f"{expected} not listed by adbc_get_objects: {sorted(names)}"
        summary["tables_listed"] = len(names)

        with conn.cursor() as cur:
            # A stage view, for one agent-day.
            cur.execute(
                "SELECT CustNo, stop_no FROM route_stops WHERE AgentID = ? AND RouteDate = CAST(? AS DATE) ORDER BY stop_no",
                (agent, date),
            )
            stops = cur.fetchall()
            assert stops, "the prepared statement found no stops"
            assert [s[1] for s in stops] == sorted(s[1] for s in stops)
            summary["route_stops"] = len(stops)

            # A snapshot, the chosen run and the same run by name.
            cur.execute('SELECT COUNT(*) FROM snapshot_output."MonthlyRoutePlan_temp"')
            chosen = cur.fetchone()[0]
            cur.execute(f'SELECT COUNT(*) FROM "snapshot_output@{run_id}"."MonthlyRoutePlan_temp"')
            by_name = cur.fetchone()[0]
            assert chosen == by_name > 0, (chosen, by_name)
            cur.execute("SELECT run_id, output_schema FROM routeflow.snapshots WHERE complete")
            runs = cur.fetchall()
            assert (run_id, f"snapshot_output@{run_id}") in runs, runs
            summary["snapshot_rows"] = chosen

            # A result larger than one batch, as a pandas DataFrame.
            big = "SELECT o.*, r.value AS copy FROM MonthlyRoutePlan_temp AS o CROSS JOIN range(8) AS r"
            cur.execute(big)
            reader = cur.fetch_record_batch()
            batches = sum(1 for _ in reader)
            assert batches > 1, f"expected several batches, got {batches}"
            cur.execute(big)
            frame = cur.fetch_df()
            assert isinstance(frame, pd.DataFrame)
            summary["big_rows"] = len(frame)
            summary["big_batches"] = batches

            # Writes are refused, and no file can be opened through the endpoint.
            for statement in [
                "CREATE TABLE x AS SELECT 1",
                "INSERT INTO MonthlyRoutePlan_temp SELECT * FROM MonthlyRoutePlan_temp",
                "DROP VIEW route_stops",
                "COPY (SELECT 1) TO '/tmp/routeflow-copy.csv'",
                "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
            ]:
                expect_error(statement, lambda s=statement: cur.execute(s), "read-only")
            summary["writes_refused"] = 5

        # polars over the same connection.
        frame = pl.read_database("SELECT AgentID, COUNT(*) AS stops FROM route_stops GROUP BY AgentID", conn)
        assert isinstance(frame, pl.DataFrame) and frame.height > 0
        summary["polars_agents"] = frame.height

    print(json.dumps(summary))


if __name__ == "__main__":
    main()
