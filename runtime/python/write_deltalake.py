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


def peak_kib():
    """The process's peak RSS since `reset_peak()` (Linux), in KiB. Not
    `ru_maxrss`: a spawned child inherits its parent's high-water mark."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

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
