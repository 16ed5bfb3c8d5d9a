"""Post generated events to the ingest API (``dataplat generate``) and summarise what happened.

Events follow the topic's ``schemas/<topic>.avsc`` (known field names get realistic values);
``--invalid-ratio`` breaks that share of them on purpose. Pacing: ``--rate`` (events/s over all
workers) and/or ``--delay`` (seconds each worker waits between posts); stops after ``--count``
events or ``--duration`` seconds, whichever comes first. ``--trace-field`` writes a unique id into
that string field of every event and records each id's outcome, so a run can be checked against
what Kafka holds. A run stopped early (Ctrl-C) cancels its requests in flight and still prints the
summary of what it did; ``main`` then exits with 130.

The generator is a client of the ingest API like any other: it reads the schema file itself and
takes the API's URL as a parameter (``dataplat generate`` passes the platform's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dataplat.load.schemas import load_schema

VOCABULARY: dict[str, list[str]] = {
    "username": [f"user{i:03d}" for i in range(200)],
    "page": ["/", "/home", "/search", "/product/42", "/product/7", "/cart", "/checkout", "/account"],
    "event_name": ["view", "click", "scroll", "add_to_cart", "remove_from_cart", "purchase", "login"],
}


@dataclass
class Options:
    topic: str = "appclickstream"
    schema: str | None = None  # schemas/<schema>.avsc; default: the topic's name
    url: str | None = None  # the ingest API, e.g. http://127.0.0.1:8000 (required)
    api_key: str | None = None
    delay: float = 0.0
    rate: float | None = None
    count: int | None = None
    duration: float | None = None
    concurrency: int = 4
    batch_size: int = 1
    invalid_ratio: float = 0.0
    seed: int | None = None
    trace_field: str | None = None  # a string field that gets a unique id per event


@dataclass
class Summary:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0  # not written: 5xx or transport errors
    requests: int = 0  # answered (or failed in transport)
    cancelled: int = 0  # events whose request was in flight when the run was interrupted
    interrupted: bool = False
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    traced: dict[str, str] = field(default_factory=dict)  # trace id -> accepted, rejected or failed

    @property
    def throughput(self) -> float:
        return self.accepted / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


class EventFactory:
    """Random events for one Avro record schema; ``broken()`` returns one that must be rejected."""

    def __init__(self, schema: dict[str, Any], rng: random.Random, trace_field: str | None = None) -> None:
        self.fields = schema["fields"]
        self.rng = rng
        self.trace_field = trace_field
        self._trace_ids = (f"{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())

    def _value(self, name: str, avro_type: Any) -> Any:
        if isinstance(avro_type, list):
            branches = [b for b in avro_type if b != "null"]
            return self._value(name, branches[0]) if branches and self.rng.random() < 0.9 else None
        if isinstance(avro_type, dict):
            if avro_type.get("logicalType") in ("timestamp-millis", "timestamp-micros"):
                scale = 1000 if avro_type["logicalType"] == "timestamp-millis" else 1_000_000
                return int(time.time() * scale)
            if avro_type.get("type") == "enum":
                return self.rng.choice(avro_type["symbols"])
            if avro_type.get("type") == "array":
                return [self._value(name, avro_type["items"]) for _ in range(self.rng.randint(0, 3))]
            return self._value(name, avro_type.get("type"))
        simple: dict[str, Any] = {
            "string": lambda: self.rng.choice(VOCABULARY.get(name) or [f"{name}-{self.rng.randint(0, 999)}"]),
            "int": lambda: self.rng.randint(0, 1000),
            "long": lambda: self.rng.randint(0, 10**9),
            "boolean": lambda: self.rng.random() < 0.5,
            "double": self.rng.random,
            "float": self.rng.random,
            "null": lambda: None,
        }
        return simple.get(str(avro_type), lambda: None)()

    def event(self) -> dict[str, Any]:
        event = {f["name"]: self._value(f["name"], f["type"]) for f in self.fields}
        if self.trace_field is not None:
            event[self.trace_field] = next(self._trace_ids)
        return event

    def broken(self) -> dict[str, Any]:
        event = self.event()
        victim = self.rng.choice(self.fields)["name"]
        if self.rng.random() < 0.5:
            del event[victim]
        else:
            event[victim] = {"not": "a valid value"}
        return event


@dataclass
class _Schedule:
    """What the workers share: events left to send (``None``: no count) and posts scheduled so far."""

    budget: int | None
    slots: int = 0


async def _worker(
    client: httpx.AsyncClient,
    options: Options,
    factory: EventFactory,
    summary: Summary,
    schedule: _Schedule,
    started: float,
    on_progress: Any,
) -> None:
    interval = options.batch_size / options.rate if options.rate else 0.0
    path = f"/topics/{options.topic}" + ("/batch" if options.batch_size > 1 else "")
    while True:
        if options.duration is not None and time.monotonic() - started >= options.duration:
            return
        size = options.batch_size if schedule.budget is None else min(options.batch_size, schedule.budget)
        if size <= 0:
            return
        if schedule.budget is not None:
            schedule.budget -= size
        due = started + schedule.slots * interval  # global pacing: post n is due at started + n * interval
        schedule.slots += 1
        if interval and (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        events = [
            factory.broken() if factory.rng.random() < options.invalid_ratio else factory.event()
            for _ in range(size)
        ]
        body: Any = events if options.batch_size > 1 else events[0]
        t0 = time.perf_counter()
        try:
            response = await client.post(path, json=body)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
            response = None
        except asyncio.CancelledError:  # interrupted: this request's outcome is unknown
            summary.cancelled += size
            raise
        summary.latencies_ms.append((time.perf_counter() - t0) * 1000)
        summary.statuses[status] = summary.statuses.get(status, 0) + 1
        summary.requests += 1
        summary.sent += size
        _count(summary, size, status, response)
        if options.trace_field is not None:
            _trace(summary, [event.get(options.trace_field) for event in events], status, response)
        on_progress(size)
        if options.delay:
            await asyncio.sleep(options.delay)


def _count(summary: Summary, size: int, status: int, response: httpx.Response | None) -> None:
    counts: dict[str, Any] = {}
    if size > 1 and response is not None and status in (200, 207, 422, 503):
        try:
            body = response.json()
            counts = body.get("details", body) if isinstance(body, dict) else {}
        except ValueError:
            counts = {}
    if "accepted" in counts:  # a batch answer: one result per record
        summary.accepted += int(counts["accepted"])
        summary.rejected += int(counts.get("rejected", 0))
        summary.failed += int(counts.get("failed", 0))
    elif status == 200:
        summary.accepted += size
    elif 400 <= status < 500:
        summary.rejected += size
    else:
        summary.failed += size


def _trace(summary: Summary, ids: list[Any], status: int, response: httpx.Response | None) -> None:
    """Record the outcome of each traced event (a broken event may have lost its id: skipped)."""
    results: Any = None
    if len(ids) > 1 and response is not None and status in (200, 207, 422, 503):
        try:
            body = response.json()
            results = body.get("details", body).get("results") if isinstance(body, dict) else None
        except (ValueError, AttributeError):
            results = None
    if isinstance(results, list) and len(results) == len(ids):  # a batch answer: one result per record
        outcomes = [str(result.get("status", "failed")) for result in results]
    else:
        outcome = "accepted" if status == 200 else "rejected" if 400 <= status < 500 else "failed"
        outcomes = [outcome] * len(ids)
    for trace_id, outcome in zip(ids, outcomes, strict=True):
        if isinstance(trace_id, str):
            summary.traced[trace_id] = outcome


async def generate(
    options: Options,
    console: Console | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Summary:
    """Run the load until ``count``/``duration`` is reached; shows a progress bar, prints the summary.

    Cancelled (Ctrl-C under ``asyncio.run``) or interrupted, it cancels the requests in flight and
    returns the summary of what it did, with ``interrupted`` set. ``transport``: for tests.
    """
    if options.count is None and options.duration is None:
        raise ValueError("give --count or --duration")
    if not options.url:
        raise ValueError("give the ingest API's URL (--url)")
    console = console or Console()
    rng = random.Random(options.seed)  # noqa: S311 - test data
    factory = EventFactory(load_schema(options.schema or options.topic), rng, options.trace_field)
    headers = {"X-API-Key": options.api_key} if options.api_key else {}
    summary, schedule = Summary(), _Schedule(options.count)
    limits = httpx.Limits(max_connections=options.concurrency)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[ok]} ok, {task.fields[bad]} rejected, {task.fields[err]} failed"),
    )
    client = httpx.AsyncClient(
        base_url=options.url, headers=headers, limits=limits, timeout=30, transport=transport
    )
    async with client:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"posting to {options.topic}", total=options.count, ok=0, bad=0, err=0)

            def advance(size: int) -> None:
                progress.update(
                    task, advance=size, ok=summary.accepted, bad=summary.rejected, err=summary.failed
                )

            started = time.monotonic()
            workers = [
                asyncio.create_task(_worker(client, options, factory, summary, schedule, started, advance))
                for _ in range(options.concurrency)
            ]
            try:
                await asyncio.gather(*workers)
            except (asyncio.CancelledError, KeyboardInterrupt):
                summary.interrupted = True
                await _stop(workers)
            finally:
                summary.elapsed_s = time.monotonic() - started
    print_summary(summary, console)
    return summary


async def _stop(workers: list[asyncio.Task[None]]) -> None:
    """Cancel the workers and wait until each has stopped; this task's cancellation is handled."""
    for worker in workers:
        worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):  # cancelled again: the workers are done anyway
        await asyncio.gather(*workers, return_exceptions=True)
    current = asyncio.current_task()
    while current is not None and current.cancelling():
        current.uncancel()  # the run ends normally, with what it did


def print_summary(summary: Summary, console: Console) -> None:
    statuses = ", ".join(f"{code or 'error'}: {n}" for code, n in sorted(summary.statuses.items()))
    console.print(
        f"sent {summary.sent} events in {summary.requests} requests over {summary.elapsed_s:.1f} s: "
        f"[green]{summary.accepted} accepted[/], [yellow]{summary.rejected} rejected[/], "
        f"[red]{summary.failed} failed[/]; {summary.throughput:.0f} accepted events/s; "
        f"request latency p50 {summary.percentile(50):.1f} ms, p99 {summary.percentile(99):.1f} ms "
        f"(HTTP {statuses})"
    )
    if summary.interrupted:
        console.print(
            f"[yellow]interrupted[/]: {summary.cancelled} events were in flight "
            "(their requests were cancelled; the API may have written them)"
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m dataplat.load.generator", description=__doc__)
    parser.add_argument("topic", nargs="?", default="appclickstream", help="schema/topic name")
    parser.add_argument("--schema", help="schema file name under schemas/ (default: the topic)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each worker waits between posts")
    parser.add_argument("--rate", type=float, help="events per second over all workers")
    parser.add_argument("--count", type=int, help="events to send")
    parser.add_argument("--duration", type=float, help="seconds to run")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--invalid-ratio", type=float, default=0.0)
    parser.add_argument("--url", required=True, help="the ingest API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--trace-field", help="string field that gets a unique id per event (traceable)")
    args = parser.parse_args(argv)
    return Options(**vars(args))


INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT


def main(argv: list[str] | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Run once; 130 when interrupted (the summary is printed either way), 1 when events failed."""
    try:
        summary = asyncio.run(generate(parse_args(argv), transport=transport))
    except KeyboardInterrupt:  # a second Ctrl-C, or one raised inside a request
        return INTERRUPTED
    if summary.interrupted:
        return INTERRUPTED
    return 1 if summary.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
