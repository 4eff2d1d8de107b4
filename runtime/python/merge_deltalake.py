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
from peak import peak_kib, reset_peak


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
