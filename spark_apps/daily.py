"""What the daily batch jobs share: the ``--date``/``--database`` arguments and their SparkSession.

Imported by the driver only (the jobs run in client mode with the platform's Python), so it needs
no ``--py-files``.
"""

from __future__ import annotations

import argparse
from datetime import date

from pyspark.sql import SparkSession


def day_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser with the day to process and the Hive database it lands in."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", type=date.fromisoformat, required=True)
    parser.add_argument("--database", default="trusted")
    return parser


def hive_session(app_name: str) -> SparkSession:
    """Hive-backed session whose INSERT OVERWRITE replaces only the partitions it writes."""
    return (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .enableHiveSupport()
        .getOrCreate()
    )
