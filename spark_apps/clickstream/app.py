"""The clickstream streaming app: ``spark-submit spark_apps/clickstream/app.py [options]``.

Kafka topic (Confluent-framed Avro) -> every ~2 s a micro-batch: decode with the registry's
schema, quarantine what cannot be decoded, count 5-second windows, write this batch's increments
as files keyed by the batch id (idempotent on replay). Users query the Trino view
``hive.clickstream.clickstream_counts`` which sums the increments.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_apps.clickstream import options, progress, tables, transforms
from spark_apps.clickstream.registry import subject_for, wait_for_latest
from spark_apps.clickstream.sink import BatchSink, batch_key

log = logging.getLogger("clickstream")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The app's options; endpoints are required. ``@FILE`` reads options from FILE, one per line."""
    parser = argparse.ArgumentParser(prog="clickstream", fromfile_prefix_chars="@")
    parser.add_argument("--bootstrap-servers", required=True, help="Kafka bootstrap servers, host:port,...")
    parser.add_argument(
        "--kafka-property",
        type=options.kafka_property,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Kafka client property (SASL, TLS...), repeatable",
    )
    parser.add_argument("--registry-url", required=True, help="Confluent-compatible schema registry API root")
    parser.add_argument("--trino-url", required=True, help="Trino, where the users' view is created")
    options.add_lake_options(parser)
    parser.add_argument("--checkpoint", required=True, help="the query's checkpoint folder (a URI)")
    parser.add_argument("--topic", default="appclickstream")
    parser.add_argument("--heartbeat", type=Path, default=None, help="progress file (a readiness probe)")
    parser.add_argument("--trigger-seconds", type=float, default=2.0)
    parser.add_argument("--max-offsets-per-trigger", type=int, default=200_000)
    parser.add_argument("--starting-offsets", default="earliest")
    args = parser.parse_args(argv)
    args.kafka_properties = dict(args.kafka_property)
    return args


def ensure_view(trino_url: str, database: str) -> None:
    """(Re)create the users' view through Trino (a Spark-created view is unreadable by Trino)."""
    import httpx
    import trino

    url = httpx.URL(trino_url)
    with trino.dbapi.connect(
        host=url.host, port=url.port or 8080, user="dataplat", catalog="hive", http_scheme=url.scheme
    ) as connection:
        cursor = connection.cursor()
        cursor.execute(tables.view_sql(database=database))
        cursor.fetchall()


class BatchWriter:
    """The ``foreachBatch`` function: decode, quarantine, count, write idempotently."""

    def __init__(self, spark: SparkSession, schemas: dict[int, str], layout: tables.Layout,
                 notes: progress.BatchNotes, trino_url: str) -> None:  # fmt: skip
        self.schemas, self.notes, self.trino_url = schemas, notes, trino_url
        self.database = db = layout.database
        self.counts = BatchSink(spark, f"{db}.{tables.INCREMENTS}", layout.increments, "start_date")
        self.bad = BatchSink(spark, f"{db}.{tables.QUARANTINE}", layout.quarantine, "ingest_date")
        self.view_ready = False
        self.try_view()

    def try_view(self) -> None:
        try:
            ensure_view(self.trino_url, self.database)
            self.view_ready = True
            progress.emit({"event": "view", "view": f"hive.{self.database}.{tables.COUNTS_VIEW}"})
        except Exception as error:  # noqa: BLE001 - Trino down must not stop the counting
            progress.emit({"event": "view_failed", "error": f"{type(error).__name__}: {error}"[:300]})

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        clock = time.monotonic()
        steps: dict[str, int] = {}

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            steps[name] = round((now - clock) * 1000)
            clock = now

        decoded = transforms.decode(transforms.frame(batch), self.schemas).persist()
        try:
            stats: dict[str, Any] = transforms.batch_stats(decoded)
            lap("decode")
            key = batch_key(batch_id)
            files = {}
            # quarantine first: a record is in the quarantine before anything after it is counted
            if stats["quarantined"]:
                written = self.bad.write(transforms.quarantine(decoded, batch_id), key)
                files.update({f"quarantine/{k}": v for k, v in written.items()})
                lap("quarantine")
            if stats["good"]:
                files.update(self.counts.write(transforms.increments(decoded, batch_id), key))
                lap("increments")
            stats["files"] = len(files)
            stats["steps_ms"] = steps
            self.notes.put(batch_id, stats)
        finally:
            decoded.unpersist()
        if not self.view_ready:
            self.try_view()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    subject = subject_for(args.topic)
    schema_id, schema = wait_for_latest(
        args.registry_url, subject, lambda text: progress.emit({"event": "waiting", "reason": text})
    )
    progress.emit({"event": "schema", "subject": subject, "id": schema_id})

    spark = (
        SparkSession.builder.appName("clickstream")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # staging output: commit by one rename per file, no _SUCCESS marker
        .config("spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version", "2")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    layout = options.layout(args)
    for statement in tables.ddl(layout):
        spark.sql(statement)

    notes = progress.BatchNotes()
    spark.streams.addListener(progress.ProgressLogger(notes, args.heartbeat))
    writer = BatchWriter(spark, {schema_id: schema}, layout, notes, args.trino_url)

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap_servers)
        .option("subscribe", args.topic)
        .option("startingOffsets", args.starting_offsets)
        .option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
    )
    for key, value in args.kafka_properties.items():
        reader = reader.option(f"kafka.{key}", value)
    query = (
        reader.load()
        .writeStream.queryName("clickstream")
        .foreachBatch(writer)
        .option("checkpointLocation", args.checkpoint)
        .trigger(processingTime=f"{args.trigger_seconds} seconds")
        .start()
    )
    query.awaitTermination()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
