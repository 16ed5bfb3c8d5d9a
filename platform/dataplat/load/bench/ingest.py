"""Ingest benchmark: the HTTP paths measured against a bare confluent-kafka producer, in one run.

(a) baseline: ``Producer`` + ``AvroSerializer``, acks=all, idempotent, waiting for every delivery;
(b) the batch endpoint; (c) the single-event endpoint with N concurrent clients; (d) latency of
the single-event endpoint at a fixed 1,000 events/s; (e) the load client's own ceiling (the same
client on ``GET /healthz``): when (c) comes close to (e), the client or the machine is the bound,
not the API. Ratios b/a and c/a make the figures comparable on a shared, noisy machine.

The load client is raw HTTP/1.1 keep-alive on asyncio (one connection per concurrent client,
bodies built before the clock starts), split over ``LOAD_PROCESSES`` processes: httpx's
``AsyncClient`` tops out near 70 requests/s with 32 concurrent requests on one pool (measured
on ``/healthz``), so it cannot measure this API.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from dataplat.load.bench.report import save_report
from dataplat.load.generator import EventFactory
from dataplat.load.schemas import load_schema, schema_text
from dataplat.settings import Settings

TOPIC = "appclickstream.bench"
LOAD_PROCESSES = 2  # client processes (one asyncio loop each)
URL_ENV = "INGEST_BENCH_URL"  # another ingest API than the platform's (e.g. an experiment's copy)


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

    client = SchemaRegistryClient({"url": settings.registry_url})
    client.register_schema(f"{TOPIC}-value", Schema(schema_text("appclickstream"), "AVRO"))


def bare_producer(settings: Settings, events: int) -> Figures:
    """(a) what a Python service can do at best: serialize + produce + wait for all deliveries."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(
        registry,
        schema_text("appclickstream"),
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


@dataclass
class LoadResult:
    """What one load process saw: latencies of answered requests and events per outcome."""

    latencies_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    failed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class LoadPlan:
    url: str
    method: str
    path: str
    bodies: list[bytes]  # one request each, sent in order over the plan's connections
    events_per_body: int
    concurrency: int
    rate: float | None = None  # requests/s of this process (None: as fast as answered)
    api_key: str | None = None


def _request(plan: LoadPlan, body: bytes) -> bytes:
    host = urlsplit(plan.url).netloc
    head = f"{plan.method} {plan.path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    if plan.api_key:
        head += f"X-API-Key: {plan.api_key}\r\n"
    return head.encode() + b"\r\n" + body


async def _connection(plan: LoadPlan, queue: list[bytes], result: LoadResult, started: float) -> None:
    parts = urlsplit(plan.url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
    interval = 1 / plan.rate if plan.rate else 0.0
    try:
        while queue:
            serial = len(plan.bodies) - len(queue)
            request = queue.pop()
            if interval and (wait := started + serial * interval - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length = int(head[9:12]), 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if plan.events_per_body > 1 and status in (200, 207):
                result.accepted += int(json.loads(body)["accepted"])
            elif status == 200:
                result.accepted += plan.events_per_body
            elif status >= 500:
                result.failed += plan.events_per_body
    finally:
        writer.close()


async def _load_async(plan: LoadPlan) -> LoadResult:
    result = LoadResult()
    queue = [_request(plan, body) for body in reversed(plan.bodies)]  # pop() takes them in order
    started = time.perf_counter()
    await asyncio.gather(*(_connection(plan, queue, result, started) for _ in range(plan.concurrency)))
    result.elapsed_s = time.perf_counter() - started
    return result


def _load_process(plan: LoadPlan) -> LoadResult:
    try:
        import uvloop

        return uvloop.run(_load_async(plan))
    except ImportError:
        return asyncio.run(_load_async(plan))


def http_load(plans: list[LoadPlan]) -> LoadResult:
    """Run the plans in parallel processes; elapsed is the slowest process's (spawn excluded)."""
    with ProcessPoolExecutor(len(plans)) as pool:
        results = list(pool.map(_load_process, plans))
    merged = LoadResult(elapsed_s=max(r.elapsed_s for r in results))
    for r in results:
        merged.latencies_ms += r.latencies_ms
        merged.accepted += r.accepted
        merged.failed += r.failed
        for status, n in r.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + n
    return merged


def http_run(
    url: str,
    *,
    count: int,
    concurrency: int,
    batch_size: int = 1,
    rate: float | None = None,
    api_key: str | None = None,
    path: str | None = None,
) -> Figures:
    """(b)/(c)/(d)/(e) through a running ingest API; events from the platform's generator."""
    factory = EventFactory(load_schema("appclickstream"), random.Random(7))  # noqa: S311 - test data
    requests = max(count // batch_size, 1)
    if path is None:
        path = f"/topics/{TOPIC}" + ("/batch" if batch_size > 1 else "")
        make = (lambda: [factory.event() for _ in range(batch_size)]) if batch_size > 1 else factory.event
        bodies = [json.dumps(make()).encode() for _ in range(requests)]
        method = "POST"
    else:
        bodies, method = [b""] * requests, "GET"
    processes = max(1, min(LOAD_PROCESSES, concurrency))
    plans = [
        LoadPlan(
            url,
            method,
            path,
            bodies[i::processes],
            batch_size,
            max(1, concurrency // processes),
            rate / processes if rate else None,
            api_key,
        )
        for i in range(processes)
    ]
    result = http_load(plans)
    if result.failed:
        raise RuntimeError(f"{result.failed} events failed during the HTTP benchmark: {result.statuses}")
    events = result.accepted if method == "POST" else len(result.latencies_ms)
    p50, p99 = _quantiles(result.latencies_ms)
    return Figures(events, result.elapsed_s, p50, p99)


def run(
    settings: Settings,
    console: Console,
    *,
    events: int = 50_000,
    clients: int = 32,
    url: str | None = None,
) -> dict[str, Any]:
    from dataplat.paths import paths_for
    from dataplat.secrets import get_secret

    url = url or os.environ.get(URL_ENV) or settings.ingest_url
    key = get_secret(paths_for(settings).secrets_file, "INGEST_API_KEY")  # needed beyond loopback
    ensure_bench_subject(settings)
    with console.status("ingest benchmark: (a) bare producer..."):
        bare = bare_producer(settings, events)
    with console.status("ingest benchmark: (b) batch endpoint..."):
        batch = http_run(url, count=events, concurrency=4, batch_size=500, api_key=key)
    with console.status(f"ingest benchmark: (c) single events, {clients} clients..."):
        single = http_run(url, count=max(events // 2, 2000), concurrency=clients, api_key=key)
    with console.status("ingest benchmark: (d) single events at 1,000 events/s..."):
        paced = http_run(url, count=10_000, concurrency=clients, rate=1000, api_key=key)
    with console.status("ingest benchmark: (e) load client ceiling (GET /healthz)..."):
        ceiling = http_run(url, count=max(events // 2, 2000), concurrency=clients, path="/healthz")
    figures = {
        "a_bare_producer": bare.as_dict(),
        "b_http_batch_500": batch.as_dict(),
        f"c_http_single_{clients}_clients": single.as_dict(),
        "d_http_single_at_1000_per_s": paced.as_dict(),
        f"e_client_ceiling_healthz_{clients}_clients": ceiling.as_dict(),
        "url": url,
        "load_processes": LOAD_PROCESSES,
        "ratio_b_over_a": round(batch.rate / bare.rate, 3) if bare.rate else None,
        "ratio_c_over_a": round(single.rate / bare.rate, 3) if bare.rate else None,
        "ratio_c_over_e": round(single.rate / ceiling.rate, 3) if ceiling.rate else None,
    }
    table = Table(title="ingest benchmark (same run, same machine)")
    for column in ("path", "events", "events/s", "p50 ms", "p99 ms", "vs bare"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, f in (
        ("(a) bare producer + AvroSerializer", bare),
        ("(b) HTTP batch (500/request)", batch),
        (f"(c) HTTP single, {clients} clients", single),
        ("(d) HTTP single at 1,000/s", paced),
        ("(e) client ceiling: GET /healthz", ceiling),
    ):
        ratio = f"{f.rate / bare.rate:.2f}" if bare.rate else "-"
        table.add_row(name, str(f.events), f"{f.rate:,.0f}", f"{f.p50_ms:.1f}", f"{f.p99_ms:.1f}", ratio)
    console.print(table)
    path = save_report(settings, "ingest", figures)
    console.print(f"report saved to {path}")
    return figures
