"""Raw insights (JSON lines) of one day -> Parquet partition of the trusted table ``insights``.

``spark-submit spark_apps/insights_json_to_parquet.py --date YYYY-MM-DD [--database trusted]``
reads ``<raw-root>/date=YYYY-MM-DD/`` and replaces only that day's partition of
``<database>.insights`` (partitioned by ``date``): reruns never duplicate rows.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from spark_apps.daily import day_parser, hive_session

RAW_ROOT = "/lake/raw/insights"
TRUSTED_ROOT = "/lake/trusted"
RAW_SCHEMA = StructType(
    [StructField(name, StringType()) for name in ("event_id", "username", "page", "event_name", "event_time")]
)
TABLE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    event_id STRING, username STRING, page STRING, event_name STRING, event_time TIMESTAMP, date DATE
) USING parquet PARTITIONED BY (date)"""


def to_trusted(raw: DataFrame, day: date) -> DataFrame:
    """Typed columns in table order; unparseable times become null (the quality checks catch them)."""
    return raw.select(
        "event_id",
        "username",
        "page",
        "event_name",
        F.try_to_timestamp("event_time").alias("event_time"),  # ISO 8601 with Z; bad -> null
        F.lit(day).alias("date"),
    )


def read_raw(spark: SparkSession, raw_root: str, day: date) -> DataFrame:
    return spark.read.schema(RAW_SCHEMA).json(f"{raw_root}/date={day.isoformat()}")


def ensure_table(spark: SparkSession, database: str, table: str) -> str:
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database} LOCATION '{TRUSTED_ROOT}/{database}.db'")
    name = f"{database}.{table}"
    spark.sql(TABLE_DDL.format(table=name))
    return name


def overwrite_partition(spark: SparkSession, frame: DataFrame, table: str, day: date) -> None:
    """Replace exactly one day: a static partition spec overwrites it even when ``frame`` is empty."""
    view = "insights_day"
    frame.drop("date").createOrReplaceTempView(view)
    spark.sql(
        f"INSERT OVERWRITE TABLE {table} PARTITION (date = DATE'{day.isoformat()}') "  # noqa: S608
        f"SELECT event_id, username, page, event_name, event_time FROM {view}"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = day_parser(__doc__)
    parser.add_argument("--table", default="insights")
    parser.add_argument("--raw-root", default=RAW_ROOT)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spark = hive_session(f"insights_json_to_parquet-{args.date}")
    table = ensure_table(spark, args.database, args.table)
    raw = read_raw(spark, args.raw_root, args.date).cache()
    rows_read = raw.count()
    print(f"[insights_json_to_parquet] read {rows_read} rows from {args.raw_root}/date={args.date}")
    overwrite_partition(spark, to_trusted(raw, args.date), table, args.date)
    written = spark.table(table).where(F.col("date") == F.lit(args.date)).count()
    print(f"[insights_json_to_parquet] wrote {written} rows to {table} partition date={args.date}")
    spark.stop()
    return 0 if written == rows_read else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
