"""The end-to-end slice: every step uses a real client against the running stack."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from dataplat.runtime import build_context
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spark_conf import spark_conf_dir, spark_env
from dataplat.spec import Context

DEMO_SCHEMA = """{"type": "record", "name": "DemoEvent", "namespace": "dataplat.demo",
 "fields": [{"name": "id", "type": "string"}, {"name": "value", "type": "long"}]}"""


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def webhdfs_round_trip(settings: Settings) -> str:
    from hdfs import InsecureClient

    client = InsecureClient(settings.webhdfs_url, user=os.environ.get("USER", "dataplat"))
    path = f"/tmp/dataplat-demo/{uuid.uuid4().hex}.txt"  # noqa: S108 - an HDFS path
    payload = f"hello from dataplat {uuid.uuid4()}"
    client.write(path, data=payload, encoding="utf-8", overwrite=True)
    with client.read(path, encoding="utf-8") as reader:
        back = reader.read()
    client.delete(path)
    if back != payload:
        raise AssertionError(f"read back {back!r}, wrote {payload!r}")
    return f"wrote and read {len(payload)} bytes at {path}"


def avro_round_trip(settings: Settings) -> str:
    from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = "dataplat.demo"
    registry = SchemaRegistryClient({"url": settings.registry_url})
    schema_id = registry.register_schema(f"{topic}-value", Schema(DEMO_SCHEMA, "AVRO"))
    serializer = AvroSerializer(
        registry,
        DEMO_SCHEMA,
        conf={
            "auto.register.schemas": False,
            "use.latest.version": True,
            "subject.name.strategy": topic_subject_name_strategy,
        },
    )
    key = uuid.uuid4().hex
    record = {"id": key, "value": time.time_ns()}
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer(settings.kafka_client_config(**{"acks": "all", "enable.idempotence": True}))
    delivered: list[KafkaError | Message] = []
    producer.produce(
        topic,
        serializer(record, context),
        key=key,
        on_delivery=lambda err, msg: delivered.append(err or msg),
    )
    producer.flush(15)
    message = delivered[0] if delivered else None  # a KafkaError when the delivery failed
    if not isinstance(message, Message):
        raise AssertionError(f"not delivered: {delivered}")
    partition, offset = message.partition(), message.offset()
    if partition is None or offset is None:
        raise AssertionError(f"delivered without a position: {message}")
    consumer = Consumer(
        settings.kafka_client_config(
            **{
                "group.id": f"dataplat-demo-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
    )
    consumer.assign([TopicPartition(topic, partition, offset)])
    got = consumer.poll(15)
    consumer.close()
    if got is None or got.error():
        raise AssertionError(f"could not consume it back: {got and got.error()}")
    decoded = AvroDeserializer(registry)(got.value(), context)
    if decoded != record:
        raise AssertionError(f"decoded {decoded}, produced {record}")
    return f"schema id {schema_id}; offset {got.offset()} decoded back"


def submit_env(ctx: Context) -> dict[str, str]:
    """The caller's environment plus the platform's Spark settings (conf dir written now: a user job
    may run with only part of the stack native), venv first on PATH."""
    spark_conf_dir(ctx)
    path = f"{ctx.python_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, **spark_env(ctx), "PATH": path, "PYSPARK_PYTHON": str(ctx.python_bin)}


def spark_table(settings: Settings, table: str) -> str:
    ctx = build_context(settings)
    argv = [
        str(ctx.python_bin.parent / "spark-submit"),
        str(REPO_ROOT / "spark_apps" / "smoke_table.py"),
        "dataplat_demo",
        table,
        "42",
    ]
    result = subprocess.run(
        argv, env=submit_env(ctx), capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise AssertionError("spark-submit failed:\n" + "\n".join(result.stderr.splitlines()[-15:]))
    return result.stdout.strip().splitlines()[-1]


def trino_read(settings: Settings, table: str) -> str:
    import trino

    host_port = settings.trino_url.split("://", 1)[1]
    host, _, port = host_port.partition(":")
    with trino.dbapi.Connection(host=host, port=int(port or 8080), user="dataplat", catalog="hive") as conn:
        cursor = conn.cursor()
        cursor.execute(f"SELECT count(*), sum(id) FROM hive.dataplat_demo.{table}")  # noqa: S608
        count, total = cursor.fetchone()
    if (count, total) != (42, sum(range(42))):
        raise AssertionError(f"Trino saw count={count}, sum={total}; expected 42 rows, sum {sum(range(42))}")
    return f"Trino read {count} rows (sum of ids {total})"


def _timed(name: str, step: Callable[[], str]) -> StepResult:
    started = time.monotonic()
    try:
        detail, ok = step(), True
    except Exception as error:  # noqa: BLE001 - every failure is reported as a failed step
        detail, ok = f"{type(error).__name__}: {error}", False
    return StepResult(name, ok, detail, time.monotonic() - started)


def run_demo(settings: Settings, console: Console) -> list[StepResult]:
    table = "smoke"
    steps: list[tuple[str, Callable[[], str]]] = [
        ("HDFS via WebHDFS", lambda: webhdfs_round_trip(settings)),
        ("Registry + Kafka (Avro)", lambda: avro_round_trip(settings)),
        ("Spark table via metastore", lambda: spark_table(settings, table)),
        ("Trino reads the table", lambda: trino_read(settings, table)),
    ]
    results = []
    with console.status("running the end-to-end demo...") as status:
        for name, step in steps:
            status.update(f"demo: {name}...")
            results.append(_timed(name, step))
    report = Table(title="end-to-end demo")
    for column in ("step", "result", "seconds", "detail"):
        report.add_column(column)
    for r in results:
        report.add_row(r.name, "[green]ok[/]" if r.ok else "[red]FAILED[/]", f"{r.seconds:.1f}", r.detail)
    console.print(report)
    return results
