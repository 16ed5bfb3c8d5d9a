"""Example user job: read a lake table of click events, write per-page activity as a new table.

Run it like any Spark job; the platform's conf dir (metastore, HDFS, warehouse) does the rest::

    eval "$(dataplat env)"
    spark-submit spark_apps/examples/page_activity.py trusted.insights sandbox.page_activity

The source needs ``page`` and ``username`` columns (the clickstream fields). The target table is
replaced on each run (Parquet, managed under the lake's warehouse) and Trino reads it at once as
``hive.<database>.<table>``.
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window


def page_activity(events: DataFrame) -> DataFrame:
    """Per page: events, distinct users, and each page's share of all events (largest first)."""
    per_page = events.groupBy("page").agg(
        F.count(F.lit(1)).alias("events"),
        F.countDistinct("username").alias("users"),
    )
    total = F.sum("events").over(Window.partitionBy())
    return per_page.withColumn("share", F.round(F.col("events") / total, 4)).orderBy(F.desc("events"), "page")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: page_activity.py <source database.table> <target database.table>", file=sys.stderr)
        return 2
    source, target = argv
    spark = SparkSession.builder.appName("example-page-activity").enableHiveSupport().getOrCreate()
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {target.split('.')[0]}")
    result = page_activity(spark.table(source))
    result.write.mode("overwrite").format("parquet").saveAsTable(target)
    written = spark.table(target).count()
    print(f"wrote {written} pages to {target}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
