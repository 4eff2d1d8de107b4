"""The Python side of `ingest-<product> bench`: read the Arrow batches the
bench's decode + flatten built (an Arrow IPC file, rows in the stream's order)
into one Arrow table (not timed), then time `deltalake.write_deltalake` of
exactly that table into a new path with the given partitioning. Prints one
JSON object.

usage: python write_deltalake.py ARROW_IPC_FILE TARGET PARTITION_COLUMN
"""

import json
import os
import sys
import time

import pyarrow as pa
from deltalake import write_deltalake
from peak import peak_kib, reset_peak


source, target, partition = sys.argv[1], sys.argv[2], sys.argv[3]
with pa.OSFile(source) as f:  # read into memory, not mapped: a ready-made table
    table = pa.ipc.open_file(f).read_all()
reset_peak()
start = time.perf_counter()
write_deltalake(target, table, partition_by=[partition] if partition else None)
seconds = time.perf_counter() - start
peak = peak_kib()
print(json.dumps({"seconds": seconds, "rows": table.num_rows, "peak_rss_bytes": peak * 1024}))
sys.stdout.flush()
os._exit(0)  # the native runtime can abort during interpreter teardown
