"""Events of one day counted by ``event_name`` into ``<database>.grouped_insights`` (by ``date``).

``spark-submit spark_apps/insights_group.py --date YYYY-MM-DD [--database trusted]`` replaces only
that day's partition, so reruns never duplicate counts.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from spark_apps.daily import day_parser, hive_session

TABLE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    event_name STRING, events BIGINT, date DATE
) USING parquet PARTITIONED BY (date)"""


def group_by_event(insights: DataFrame) -> DataFrame:
    """One row per ``event_name`` with its number of ``events``."""
    return insights.groupBy("event_name").agg(F.count(F.lit(1)).alias("events"))


def only_row(aggregate: DataFrame) -> Row:
    """The one row of a global aggregate (``agg`` without ``groupBy``)."""
    row = aggregate.first()
    if row is None:
        raise ValueError("a global aggregate returned no row")
    return row


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = day_parser(__doc__)
    parser.add_argument("--source", default="insights")
    parser.add_argument("--table", default="grouped_insights")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spark = hive_session(f"insights_group-{args.date}")
    source, target = f"{args.database}.{args.source}", f"{args.database}.{args.table}"
    spark.sql(TABLE_DDL.format(table=target))
    day = spark.table(source).where(F.col("date") == F.lit(args.date))
    grouped = group_by_event(day).cache()
    rows_read = int(only_row(grouped.agg(F.coalesce(F.sum("events"), F.lit(0))))[0])
    print(f"[group_insights] read {rows_read} rows of {source} date={args.date}")
    grouped.createOrReplaceTempView("grouped_day")
    # a static partition spec replaces the day even when it has no rows any more
    spark.sql(
        f"INSERT OVERWRITE TABLE {target} PARTITION (date = DATE'{args.date.isoformat()}') "  # noqa: S608
        "SELECT event_name, events FROM grouped_day"
    )
    written = spark.table(target).where(F.col("date") == F.lit(args.date))
    groups, total = only_row(written.agg(F.count(F.lit(1)), F.coalesce(F.sum("events"), F.lit(0))))
    print(f"[group_insights] wrote {groups} rows ({total} events) to {target} partition date={args.date}")
    spark.stop()
    return 0 if total == rows_read else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
