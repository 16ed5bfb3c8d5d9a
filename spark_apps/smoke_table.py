"""Smoke job: write a small table into the lake through the Hive Metastore.

``spark-submit spark_apps/smoke_table.py <database> <table> <rows>`` (re)creates
``database.table`` with ``rows`` rows (id, label) as Parquet; Trino then reads it.
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def build_rows(spark: SparkSession, rows: int) -> DataFrame:
    """``rows`` rows: ``id`` 0..rows-1 and ``label`` = 'row-<id>'."""
    return spark.range(rows).select(F.col("id"), F.concat(F.lit("row-"), F.col("id")).alias("label"))


def main(argv: list[str]) -> int:
    database, table, rows = argv[0], argv[1], int(argv[2])
    spark = SparkSession.builder.appName(f"dataplat-smoke-{table}").enableHiveSupport().getOrCreate()
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
    build_rows(spark, rows).write.mode("overwrite").format("parquet").saveAsTable(f"{database}.{table}")
    written = spark.table(f"{database}.{table}").count()
    print(f"wrote {written} rows to {database}.{table}")
    spark.stop()
    return 0 if written == rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
