"""The change-data-capture app: ``spark-submit spark_apps/cdc/app.py [options]``.

Debezium's topics ``<prefix>.<schema>.<table>`` (JSON with schemas) -> every ``--trigger-seconds`` a
micro-batch of at most ``--max-offsets-per-trigger`` records -> per table: the change events
appended once to ``<catalog>.<raw>.<db>_<table>_changes``, the newest event per key merged into
``<catalog>.<trusted>.<db>_<table>`` (which follows the source's added and dropped columns), and
what cannot land into ``<catalog>.<raw>.<dead letters>``. Exactly once: Spark's checkpoint replays
an unfinished batch, and every write is idempotent (:mod:`spark_apps.cdc.lake`). Between batches
the app compacts the tables and expires old snapshots (:mod:`spark_apps.cdc.maintenance`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time

from pyspark.sql import DataFrame, SparkSession

from spark_apps.cdc import lake, options
from spark_apps.cdc.batch import CdcBatch
from spark_apps.cdc.maintenance import Maintenance
from spark_apps.cdc.metrics import Listener, Metrics

log = logging.getLogger("cdc")
TICK_S = 10.0  # heartbeat refresh while a batch runs


class Driver:
    """The ``foreachBatch`` function: a batch, then its metrics, then upkeep when due."""

    def __init__(self, args: argparse.Namespace, metrics: Metrics) -> None:
        self.layout = options.layout(args)
        self.tables = tuple(args.tables)
        self.metrics = metrics
        self.batch = CdcBatch(
            self.layout, self.tables, options.topics(args), args.toast_placeholder, on_step=metrics.step
        )
        self.maintenance = Maintenance(
            args.catalog, args.maintenance_interval_min, args.snapshot_retention_hours
        )

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        self.metrics.step(batch_id, "start")
        report = self.batch.process(batch, batch_id)
        self.metrics.batch(report, time.monotonic() - started)  # the commit lag is taken here
        if self.maintenance.due():
            self.metrics.step(batch_id, "maintenance")
            trusted = [self.layout.trusted(table) for table in self.tables]
            raw = [self.layout.raw(table) for table in self.tables]
            tables = [*raw, *trusted, self.layout.dead_letters]
            self.metrics.maintained(self.maintenance.run(batch.sparkSession, tables, trusted))


def session(app_name: str = "cdc") -> SparkSession:
    spark = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")  # naive timestamps are UTC (spark_apps.cdc.schema)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def main(argv: list[str]) -> int:
    args = options.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics = Metrics(args.heartbeat)
    metrics.starting()
    spark = session()
    if not spark.conf.get(f"spark.sql.catalog.{args.catalog}", None):
        log.error(
            "Spark has no catalog %r (spark.sql.catalog.%s): is SPARK_CONF_DIR set?",
            args.catalog,
            args.catalog,
        )
        return 2
    layout = options.layout(args)
    ours = [*(name for t in args.tables for name in (layout.raw(t), layout.trusted(t))), layout.dead_letters]
    for table in lake.forget_lost_tables(spark, args.catalog, ours):
        log.warning(
            "%s: its metadata file is gone from the lake (a metastore restored without the lake's files?);"
            " unregistered, made anew from the change events",
            table,
        )
    for statement in lake.setup_ddl(layout, args.tables):
        spark.sql(statement)

    spark.streams.addListener(Listener(metrics))
    metrics.tick_every(TICK_S)
    topics = options.topics(args)
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap_servers)
        # a pattern, not a list: a table's topic appears only with its first change (and is
        # then read from its start), where `subscribe` fails on a topic that does not exist yet
        .option("subscribePattern", "|".join(re.escape(topic) for topic in sorted(topics)))
        .option("startingOffsets", args.starting_offsets)
        .option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
        .option("minPartitions", str(args.min_partitions))
    )
    for key, value in args.kafka_properties.items():
        reader = reader.option(f"kafka.{key}", value)
    query = (
        reader.load()
        .writeStream.queryName("cdc")
        .foreachBatch(Driver(args, metrics))
        .option("checkpointLocation", args.checkpoint)
        .trigger(processingTime=f"{args.trigger_seconds} seconds")
        .start()
    )
    query.awaitTermination()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
