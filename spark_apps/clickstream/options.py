"""Command-line options the clickstream jobs share: where the lake is, extra Kafka properties.

Endpoints are required options (no platform defaults): whoever runs a job says where things are.
"""

from __future__ import annotations

import argparse

from spark_apps.clickstream import tables

DEFAULT_LAKE_ROOT = "/lake"


def kafka_property(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` of ``--kafka-property`` (the value may itself hold ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def add_lake_options(parser: argparse.ArgumentParser) -> None:
    """``--hdfs-uri`` (required), ``--lake-root`` and ``--database``: where the tables live."""
    parser.add_argument("--hdfs-uri", required=True, help="the lake's filesystem, e.g. hdfs://namenode:8020")
    parser.add_argument("--lake-root", default=DEFAULT_LAKE_ROOT, help="the lake's folder on that filesystem")
    parser.add_argument("--database", default=tables.DATABASE, help="Hive database of the tables")


def layout(args: argparse.Namespace) -> tables.Layout:
    """The tables' layout from the options of :func:`add_lake_options`."""
    return tables.layout_for(args.hdfs_uri, args.lake_root, args.database)
