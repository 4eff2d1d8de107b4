"""The Python side of `ingest-<product> bench`: read a Delta table into one
Arrow table (not timed), then time `deltalake.write_deltalake` of exactly that
table into a new path with the given partitioning. Prints one JSON object.

usage: python write_deltalake.py SOURCE_TABLE TARGET PARTITION_COLUMN
"""

import json
import os
import sys
import time

from deltalake import DeltaTable, write_deltalake
from peak import peak_kib, reset_peak


source, target, partition = sys.argv[1], sys.argv[2], sys.argv[3]
table = DeltaTable(source).to_pyarrow_table()
reset_peak()
start = time.perf_counter()
write_deltalake(target, table, partition_by=[partition] if partition else None)
seconds = time.perf_counter() - start
peak = peak_kib()
print(json.dumps({"seconds": seconds, "rows": table.num_rows, "peak_rss_bytes": peak * 1024}))
sys.stdout.flush()
os._exit(0)  # the native runtime can abort during interpreter teardown
