"""Ingest benchmark: the HTTP paths measured against a bare confluent-kafka producer, in one run.

(a) baseline: ``Producer`` + ``AvroSerializer``, acks=all, idempotent, waiting for every delivery;
(b) the batch endpoint; (c) the single-event endpoint with N concurrent clients; (d) latency of
the single-event endpoint at a fixed 1,000 events/s. Ratios b/a and c/a make the figures
comparable on a shared, noisy machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from dataplat.bench.report import save_report
from dataplat.settings import Settings

TOPIC = "appclickstream.bench"


@dataclass(frozen=True)
class Figures:
    events: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.rate),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
        }


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def ensure_bench_subject(settings: Settings) -> None:
    """The bench topic uses the click schema under its own subject (so it never touches real data)."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    from schemas.register import SCHEMA_DIR

    client = SchemaRegistryClient({"url": settings.registry_url})
    client.register_schema(f"{TOPIC}-value", Schema((SCHEMA_DIR / "appclickstream.avsc").read_text(), "AVRO"))


def bare_producer(settings: Settings, events: int) -> Figures:
    """(a) what a Python service can do at best: serialize + produce + wait for all deliveries."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from schemas.register import SCHEMA_DIR

    registry = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(
        registry,
        (SCHEMA_DIR / "appclickstream.avsc").read_text(),
        conf={
            "auto.register.schemas": False,
            "use.latest.version": True,
            "subject.name.strategy": topic_subject_name_strategy,
        },
    )
    producer = Producer(
        settings.kafka_client_config(
            **{
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
            }
        )
    )
    context = SerializationContext(TOPIC, MessageField.VALUE)
    latencies: list[float] = []
    now_ms = int(time.time() * 1000)

    def delivered(err: object, _msg: object, sent: float) -> None:
        if err is None:
            latencies.append((time.perf_counter() - sent) * 1000)

    started = time.perf_counter()
    for i in range(events):
        record = {
            "username": f"user{i % 200:03d}",
            "page": "/bench",
            "event_name": "click",
            "event_time": now_ms,
        }
        sent = time.perf_counter()
        while True:
            try:
                producer.produce(
                    TOPIC, serializer(record, context), on_delivery=lambda e, m, s=sent: delivered(e, m, s)
                )
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - started
    p50, p99 = _quantiles(latencies)
    return Figures(len(latencies), elapsed, p50, p99)


def http_run(
    settings: Settings, *, count: int, concurrency: int, batch_size: int, rate: float | None = None
) -> Figures:
    """(b)/(c)/(d) through the running ingest API, with the platform's generator."""
    from ingest_api.generator import Options, generate

    options = Options(
        topic=TOPIC,
        schema="appclickstream",
        url=settings.ingest_url,
        count=count,
        concurrency=concurrency,
        batch_size=batch_size,
        rate=rate,
        seed=7,
    )
    summary = asyncio.run(generate(options, Console(quiet=True)))
    if summary.failed:
        raise RuntimeError(f"{summary.failed} events failed during the HTTP benchmark")
    p50, p99 = summary.percentile(50), summary.percentile(99)
    return Figures(summary.accepted, summary.elapsed_s, p50, p99)


def run(settings: Settings, console: Console, *, events: int = 50_000, clients: int = 32) -> dict[str, Any]:
    ensure_bench_subject(settings)
    with console.status("ingest benchmark: (a) bare producer..."):
        bare = bare_producer(settings, events)
    with console.status("ingest benchmark: (b) batch endpoint..."):
        batch = http_run(settings, count=events, concurrency=4, batch_size=500)
    with console.status(f"ingest benchmark: (c) single events, {clients} clients..."):
        single = http_run(settings, count=max(events // 5, 2000), concurrency=clients, batch_size=1)
    with console.status("ingest benchmark: (d) single events at 1,000 events/s..."):
        paced = http_run(settings, count=10_000, concurrency=clients, batch_size=1, rate=1000)
    figures = {
        "a_bare_producer": bare.as_dict(),
        "b_http_batch_500": batch.as_dict(),
        f"c_http_single_{clients}_clients": single.as_dict(),
        "d_http_single_at_1000_per_s": paced.as_dict(),
        "ratio_b_over_a": round(batch.rate / bare.rate, 3) if bare.rate else None,
        "ratio_c_over_a": round(single.rate / bare.rate, 3) if bare.rate else None,
    }
    table = Table(title="ingest benchmark (same run, same machine)")
    for column in ("path", "events", "events/s", "p50 ms", "p99 ms", "vs bare"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, f in (
        ("(a) bare producer + AvroSerializer", bare),
        ("(b) HTTP batch (500/request)", batch),
        (f"(c) HTTP single, {clients} clients", single),
        ("(d) HTTP single at 1,000/s", paced),
    ):
        ratio = f"{f.rate / bare.rate:.2f}" if bare.rate else "-"
        table.add_row(name, str(f.events), f"{f.rate:,.0f}", f"{f.p50_ms:.1f}", f"{f.p99_ms:.1f}", ratio)
    console.print(table)
    path = save_report(settings, "ingest", figures)
    console.print(f"report saved to {path}")
    return figures
