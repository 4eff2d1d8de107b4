"""Reads the merged tables back with two readers that are not Manifold's Rust —
the Python `deltalake` package and DuckDB's delta extension — and compares
each with the oracle's rows (tests/e2e/merge.rs). Usage: read_back.py CASES.json
"""

import json
import os
import sys

import duckdb
import pyarrow.parquet as pq
import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

from rows import PIPELINE, rows


def extension_directory():
    """Where the `duckdb-ext-delta` package put the extension (no download)."""
    import site

    for base in site.getsitepackages():
        path = os.path.join(base, "duckdb_ext", "extensions")
        if os.path.isdir(path):
            return path
    raise SystemExit("duckdb-ext-delta is not installed (scripts/setup-python.sh)")


def main():
    cases = json.load(open(sys.argv[1]))
    con = duckdb.connect()
    con.execute(f"SET extension_directory = '{extension_directory()}'")
    con.execute("LOAD delta")
    failures = []
    total = 0
    for case in cases:
        oracle = pq.read_table(case["oracle"])
        columns = [c for c in oracle.column_names if c not in PIPELINE]
        want = rows(oracle.to_pylist(), columns)
        # Through delta-rs's DataFusion scan, which honours deletion vectors
        # (`to_pyarrow_table` refuses tables that have them).
        batches = QueryBuilder().register("t", DeltaTable(case["path"])).execute("SELECT * FROM t")
        by_deltalake = rows(pa.RecordBatchReader.from_stream(batches).read_all().to_pylist(), columns)
        by_duckdb = rows(con.execute(f"SELECT * FROM delta_scan('{case['path']}')").fetch_arrow_table().to_pylist(), columns)
        for reader, got in (("deltalake", by_deltalake), ("duckdb", by_duckdb)):
            if got != want:
                extra = [r for r in got if r not in want][:2]
                missing = [r for r in want if r not in got][:2]
                failures.append(f"{case['table']} read by {reader}: {len(got)} rows, oracle {len(want)}; extra {extra}; missing {missing}")
        total += len(want)
    if failures:
        print("\n".join(failures))
        sys.stdout.flush()
        os._exit(1)
    print(f"OK: {len(cases)} tables, {total} rows read back by deltalake and duckdb")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
