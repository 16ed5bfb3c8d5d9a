"""The CDC app's command line. Endpoints are required options: whoever runs the app says where things are.

Spark's own configuration (the metastore, the Iceberg catalog's definition) comes from
``SPARK_CONF_DIR`` as for every job of the platform; ``--catalog`` names the catalog to write to.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from spark_apps.cdc.lake import Layout
from spark_apps.cdc.schema import PLACEHOLDER

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def kafka_property(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` of ``--kafka-property`` (the value may itself hold ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def name(text: str) -> str:
    """An identifier usable in table names unquoted (letters, digits, underscores)."""
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a plain identifier: {text!r}")
    return text


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list of identifiers."""
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    if not parts:
        raise argparse.ArgumentTypeError("expected at least one name")
    return tuple(name(part) for part in parts)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The app's options; ``@FILE`` reads options from FILE, one per line."""
    parser = argparse.ArgumentParser(prog="cdc", fromfile_prefix_chars="@")
    parser.add_argument("--bootstrap-servers", required=True, help="Kafka bootstrap servers, host:port,...")
    parser.add_argument(
        "--kafka-property",
        type=kafka_property,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Kafka client property (SASL, TLS...), repeatable",
    )
    parser.add_argument("--topic-prefix", type=name, default="condo", help="Debezium's topic.prefix")
    parser.add_argument("--schema", type=name, default="public", help="the captured tables' schema")
    parser.add_argument("--tables", type=names, required=True, help="captured tables, comma-separated")
    parser.add_argument(
        "--heartbeat-table",
        default="dataplat_heartbeat",
        help="table Debezium's heartbeat query writes: its events measure lag, never land ('' for none)",
    )
    parser.add_argument(
        "--database",
        type=name,
        default=None,
        help="prefix of the lake's table names (default: the topic prefix)",
    )
    parser.add_argument("--catalog", type=name, default="iceberg", help="the Spark catalog of the lake")
    parser.add_argument("--raw-namespace", type=name, default="raw")
    parser.add_argument("--trusted-namespace", type=name, default="trusted")
    parser.add_argument(
        "--dead-letter-table", type=name, default="cdc_dead_letters", help="in the raw namespace"
    )
    parser.add_argument("--checkpoint", required=True, help="the query's checkpoint folder (a URI)")
    parser.add_argument("--trigger-seconds", type=float, default=2.0)
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=50_000,
        help="a micro-batch's size limit: a big snapshot streams through in bounded batches",
    )
    parser.add_argument(
        "--min-partitions",
        type=int,
        default=2,
        help="Spark tasks a batch's Kafka offsets are split into (a topic has few partitions)",
    )
    parser.add_argument("--starting-offsets", default="earliest", help="where a new query starts")
    parser.add_argument(
        "--snapshot-retention-hours",
        type=float,
        default=24.0,
        help="Iceberg snapshots (time travel) kept at least this long",
    )
    parser.add_argument(
        "--maintenance-interval-min",
        type=float,
        default=30.0,
        help="compaction and snapshot expiry every so many minutes (0: never)",
    )
    parser.add_argument("--heartbeat", type=Path, default=None, help="heartbeat and metrics file (a probe)")
    parser.add_argument(
        "--toast-placeholder", default=PLACEHOLDER, help="Debezium's unavailable.value.placeholder"
    )
    args = parser.parse_args(argv)
    if args.heartbeat_table and not NAME.fullmatch(args.heartbeat_table):
        parser.error(f"--heartbeat-table: not a plain identifier: {args.heartbeat_table!r}")
    args.kafka_properties = dict(args.kafka_property)
    args.database = args.database or args.topic_prefix
    return args


def topic(args: argparse.Namespace, table: str) -> str:
    return f"{args.topic_prefix}.{args.schema}.{table}"


def topics(args: argparse.Namespace) -> dict[str, str]:
    """Topic -> table for every subscribed topic: the captured tables and the heartbeat table."""
    tables = [*args.tables, *([args.heartbeat_table] if args.heartbeat_table else [])]
    return {topic(args, table): table for table in tables}


def layout(args: argparse.Namespace) -> Layout:
    return Layout(
        args.catalog, args.raw_namespace, args.trusted_namespace, args.database, args.dead_letter_table
    )
