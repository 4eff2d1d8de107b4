"""The Python side of `ingest-<product> bench-merge`: delta-rs's own MERGE
(DataFusion) of a batch of changed rows into a Delta table, with the obvious
last-writer-wins predicate. Prints one JSON object.

usage: python merge_deltalake.py TARGET_TABLE CHANGED_ROWS.parquet
"""

import json
import os
import sys
import time

import pyarrow.parquet as pq
from deltalake import DeltaTable


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

target, changed = sys.argv[1], sys.argv[2]
source = pq.read_table(changed)
table = DeltaTable(target)
reset_peak()
start = time.perf_counter()
metrics = (
    table.merge(
        source=source,
        predicate="t.workspace_id = s.workspace_id"
        " AND t.envelope_fields_resource_ari_value = s.envelope_fields_resource_ari_value",
        source_alias="s",
        target_alias="t",
    )
    .when_matched_update_all(
        predicate="s.envelope_fields_generation_counter > t.envelope_fields_generation_counter"
        " OR (s.envelope_fields_generation_counter = t.envelope_fields_generation_counter"
        " AND s.envelope_fields_version > t.envelope_fields_version)"
    )
    .when_not_matched_insert_all()
    .execute()
)
seconds = time.perf_counter() - start
peak = peak_kib()
print(json.dumps({"seconds": seconds, "peak_rss_bytes": peak * 1024, "updated": metrics.get("num_target_rows_updated")}))
sys.stdout.flush()
os._exit(0)  # the native runtime can abort during interpreter teardown
