"""Runs each model's compiled SQL on a local Spark over the same staging rows
the generated Rust transformed, and compares the rows (tests/e2e/spark.rs).

Spark runs non-ANSI (`spark.sql.ansi.enabled=false`: a value that does not
convert is NULL, integers wrap) with the session time zone UTC: the semantics
the ingestion binaries implement. Usage: spark_conformance.py CASES.json
"""

import json
import os
import sys
import time

os.environ["TZ"] = "UTC"
time.tzset()

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import DateType, TimestampType  # noqa: E402
from rows import rows  # noqa: E402


def as_micros(table):
    """`table` with its timestamps as microseconds and its dates as days since the epoch."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            micros = table.column(i).cast(pa.timestamp("us", tz=field.type.tz)).cast(pa.int64())
            table = table.set_column(i, field.name, micros)
        elif pa.types.is_date32(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.int32()))
    return table


def since_epoch(field):
    """A column of Spark's result, a timestamp or date as a number since the epoch."""
    column = F.col(f"`{field.name}`")
    if isinstance(field.dataType, TimestampType):
        return F.unix_micros(column).alias(field.name)
    if isinstance(field.dataType, DateType):
        return F.unix_date(column).alias(field.name)
    return column


def main():
    cases = json.load(open(sys.argv[1]))
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("manifold-conformance")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", os.path.join(os.path.dirname(sys.argv[1]), "warehouse"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql("CREATE DATABASE IF NOT EXISTS manifold_entities")
    created = set()
    failures = []
    compared = 0
    for case in cases:
        source = case["source"]
        if source not in created:
            spark.sql(f"CREATE TABLE {source} USING parquet LOCATION '{case['staging']}'")
            created.add(source)
        ours_table = as_micros(pq.read_table(case["ours"]))
        columns = ours_table.column_names
        ours = rows(ours_table.to_pylist(), columns)
        result = spark.sql(case["sql"])
        if result.columns != columns:
            failures.append(f"{case['model']}: Spark's columns {result.columns} vs ours {columns}")
            continue
        # Timestamps and dates compared as numbers since the epoch: Python's
        # datetime stops at year 9999, Spark's do not.
        result = result.select([since_epoch(f) for f in result.schema.fields])
        theirs = rows([r.asDict() for r in result.collect()], columns)
        compared += len(theirs)
        if ours != theirs:
            only_ours = [r for r in ours if r not in theirs][:3]
            only_spark = [r for r in theirs if r not in ours][:3]
            diffs = []
            for a, b in zip(only_ours, only_spark):
                diffs.append(", ".join(f"{c}: ours {x} vs Spark {y}" for c, x, y in zip(columns, a, b) if x != y))
            failures.append(
                f"{case['model']}: {len(ours)} rows ours, {len(theirs)} Spark's; first differences:\n    "
                + "\n    ".join(diffs or [str(only_ours), str(only_spark)])
            )
    if failures:
        print("\n".join(failures))
        sys.stdout.flush()
        os._exit(1)
    print(f"OK: {len(cases)} models, {compared} rows equal")
    sys.stdout.flush()
    spark.stop()


if __name__ == "__main__":
    main()
