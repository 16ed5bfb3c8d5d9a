"""Ingest benchmark: the HTTP paths measured against the best plain producer, in one run.

(a) baseline (:mod:`.baseline`): a plain confluent-kafka ``Producer`` with the ``AvroSerializer``
built once, acks=all, idempotent, waiting for every delivery; (b) the batch endpoint; (c) the
single-event endpoint with N concurrent clients; (d) latency of the single-event endpoint at a fixed
1,000 events/s; (e) the load client's own ceiling (the same client on ``GET /healthz``): when (c)
comes close to (e), the client or the machine is the bound, not the API. Every rate is reported as
a ratio to (a), which makes the figures comparable on a shared, noisy machine.

The load client is raw HTTP/1.1 keep-alive on asyncio (one connection per concurrent client,
bodies built before the clock starts), split over ``LOAD_PROCESSES`` processes: httpx's
``AsyncClient`` tops out near 70 requests/s with 32 concurrent requests on one pool (measured
on ``/healthz``), so it cannot measure this API. Everything goes over public protocols (HTTP,
Kafka, the registry's REST API); endpoints come in :class:`Endpoints`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from rich.console import Console
from rich.table import Table

from dataplat.load.bench.baseline import run_baseline
from dataplat.load.bench.figures import Figures, quantiles, ratios
from dataplat.load.bench.report import write_report
from dataplat.load.generator import EventFactory
from dataplat.load.schemas import load_schema, schema_text

TOPIC = "appclickstream.bench"
LOAD_PROCESSES = 2  # client processes (one asyncio loop each)
URL_ENV = "INGEST_BENCH_URL"  # another ingest API than the platform's (e.g. an experiment's copy)


@dataclass(frozen=True)
class Endpoints:
    """Where the benchmark connects (``dataplat bench ingest`` fills it from the platform's settings)."""

    ingest_url: str
    registry_url: str
    kafka: dict[str, Any]  # librdkafka client config: bootstrap.servers and any security settings
    api_key: str | None = None  # X-API-Key, needed when the API is bound beyond loopback


def ensure_bench_subject(registry: SchemaRegistryClient) -> None:
    """The bench topic uses the click schema under its own subject (so it never touches real data)."""
    registry.register_schema(f"{TOPIC}-value", Schema(schema_text("appclickstream"), "AVRO"))


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
    p50, p99 = quantiles(result.latencies_ms)
    return Figures(events, result.elapsed_s, p50, p99)


PATHS = {
    "a": "(a) plain producer + AvroSerializer (baseline)",
    "b": "(b) HTTP batch (500/request)",
    "c": "(c) HTTP single, {clients} clients",
    "d": "(d) HTTP single at 1,000/s",
    "e": "(e) client ceiling: GET /healthz",
}


def run(
    endpoints: Endpoints,
    console: Console,
    *,
    report_dir: Path,
    events: int = 50_000,
    clients: int = 32,
) -> dict[str, Any]:
    """All five paths in one run; prints a table with each rate over the baseline's, saves a report."""
    url, key = endpoints.ingest_url, endpoints.api_key
    registry = SchemaRegistryClient({"url": endpoints.registry_url})
    ensure_bench_subject(registry)
    with console.status("ingest benchmark: (a) plain producer baseline..."):
        bare = run_baseline(registry, endpoints.kafka, TOPIC, events)
    with console.status("ingest benchmark: (b) batch endpoint..."):
        batch = http_run(url, count=events, concurrency=4, batch_size=500, api_key=key)
    with console.status(f"ingest benchmark: (c) single events, {clients} clients..."):
        single = http_run(url, count=max(events // 2, 2000), concurrency=clients, api_key=key)
    with console.status("ingest benchmark: (d) single events at 1,000 events/s..."):
        paced = http_run(url, count=10_000, concurrency=clients, rate=1000, api_key=key)
    with console.status("ingest benchmark: (e) load client ceiling (GET /healthz)..."):
        ceiling = http_run(url, count=max(events // 2, 2000), concurrency=clients, path="/healthz")
    paths = {"a": bare, "b": batch, "c": single, "d": paced, "e": ceiling}
    figures = report(paths, url=url, clients=clients)
    console.print(table(paths, clients))
    console.print(f"report saved to {write_report(report_dir, 'ingest', figures)}")
    return figures


def report(paths: dict[str, Figures], *, url: str, clients: int) -> dict[str, Any]:
    """The saved figures: each path, and each rate over the baseline's (``ratio_b_over_a``, ...)."""
    keys = {
        "a": "a_plain_producer_baseline",
        "b": "b_http_batch_500",
        "c": f"c_http_single_{clients}_clients",
        "d": "d_http_single_at_1000_per_s",
        "e": f"e_client_ceiling_healthz_{clients}_clients",
    }
    figures: dict[str, Any] = {keys[name]: f.as_dict() for name, f in paths.items()}
    figures |= {"url": url, "load_processes": LOAD_PROCESSES}
    others = {f"ratio_{name}_over_a": f for name, f in paths.items() if name != "a"}
    figures |= ratios(paths["a"], others)
    e = paths["e"]
    figures["ratio_c_over_e"] = round(paths["c"].rate / e.rate, 3) if e.rate else None
    return figures


def table(paths: dict[str, Figures], clients: int) -> Table:
    """One row per path; the last column is its rate over the baseline's."""
    result = Table(title="ingest benchmark (same run, same machine; ratios against the plain producer)")
    for column in ("path", "events", "events/s", "p50 ms", "p99 ms", "vs baseline"):
        result.add_column(column, justify="left" if column == "path" else "right")
    versus = ratios(paths["a"], paths)
    for name, f in paths.items():
        ratio = "-" if versus[name] is None else f"{versus[name]:.2f}"
        label = PATHS[name].format(clients=clients)
        result.add_row(label, str(f.events), f"{f.rate:,.0f}", f"{f.p50_ms:.1f}", f"{f.p99_ms:.1f}", ratio)
    return result
