"""Fold one day's increments into one compacted file: ``spark-submit compact.py --date D --hdfs-uri U``.

Safe while the streaming app runs: the files to fold are listed once; their sum is written as
``start_date=D/c<through>.parquet`` (``through`` = the newest batch folded) with an atomic rename;
the users' view counts, per day, the newest compacted file plus increments with a higher batch
id, so before and after the rename every query gives the same totals. The folded files are
deleted last (a replay of an already-folded batch is ignored by the view and removed next time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys

from pyspark.sql import SparkSession

from spark_apps.clickstream import options, tables, transforms
from spark_apps.clickstream.sink import BatchSink, compaction_key

FILE_NAME = re.compile(r"/(?P<kind>[bc])(?P<batch>\d{12})\.parquet$")


def plan(files: list[str]) -> tuple[list[str], int] | None:
    """The files to fold and the newest batch id among them (None: nothing worth compacting)."""
    keyed = [(path, match) for path in files if (match := FILE_NAME.search(path))]
    if len(keyed) < 2:
        return None
    return [path for path, _ in keyed], max(int(match["batch"]) for _, match in keyed)


def compact(spark: SparkSession, layout: tables.Layout, date: str) -> dict[str, object]:
    sink = BatchSink(spark, f"{layout.database}.{tables.INCREMENTS}", layout.increments, "start_date")
    folder = f"{layout.increments}/start_date={date}"
    listed = sink.fs.list(folder, "*.parquet") if sink.fs.exists(folder) else []
    chosen = plan(listed)
    if chosen is None:
        return {"date": date, "files_before": len(listed), "compacted": False}
    files, through = chosen
    rows = spark.read.option("basePath", layout.increments).parquet(*files)
    folded = transforms.fold(transforms.effective(rows), through).select(*transforms.INCREMENT_COLUMNS)
    written = sink.write(folded, compaction_key(through))
    target = written.get(date)
    for path in files:
        if path != target:
            sink.fs.delete(path, recursive=False)
    return {"date": date, "files_before": len(files), "through_batch": through, "file": target,
            "compacted": True}  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The job's options: the day and where the tables live (``--hdfs-uri`` is required)."""
    parser = argparse.ArgumentParser(prog="clickstream-compact", fromfile_prefix_chars="@")
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat)
    options.add_lake_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spark = (
        SparkSession.builder.appName(f"clickstream-compact-{args.date}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    result = compact(spark, options.layout(args), args.date.isoformat())
    print(json.dumps(result))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
