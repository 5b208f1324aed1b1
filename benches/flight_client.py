"""Times one query through `routeflow serve` with Python's ADBC Flight SQL driver (the client a
notebook uses): seconds to the first batch, to the last, rows, batches, their Arrow size and rows per second. Prints one JSON
line. Usage: flight_client.py URI QUERY
"""

import json
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql

uri, query = sys.argv[1], sys.argv[2]
with flight_sql.connect(uri) as conn, conn.cursor() as cur:
    start = time.perf_counter()
    cur.execute(query)
    reader = cur.fetch_record_batch()
    first = None
    rows = batches = size = 0
    for batch in reader:
        if first is None:
            first = time.perf_counter() - start
        rows += batch.num_rows
        size += batch.nbytes
        batches += 1
    total = time.perf_counter() - start
print(json.dumps({"rows": rows, "batches": batches, "arrow_mb": round(size / 2**20), "first_batch_s": round(first or total, 3),
                  "total_s": round(total, 3), "rows_per_s": round(rows / total)}))
