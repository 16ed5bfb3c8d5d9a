"""The event generator: what it sends is valid (or broken on purpose), and how it counts answers."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import random
import signal
import time
from collections.abc import Callable

import httpx
import pytest
from rich.console import Console

from dataplat.load.generator import (
    INTERRUPTED,
    EventFactory,
    Options,
    Summary,
    _count,
    generate,
    main,
    parse_args,
)
from dataplat.load.schemas import load_schema
from ingest_api.validation import RecordValidator  # the service's own check judges what is generated

TOPIC = "appclickstream"


def test_generated_events_match_the_schema_and_broken_ones_do_not() -> None:
    schema = load_schema(TOPIC)
    factory, validator = EventFactory(schema, random.Random(1)), RecordValidator(schema)
    assert all(not validator.check(factory.event())[1] for _ in range(200))
    assert all(validator.check(factory.broken())[1] for _ in range(200))


def test_answers_are_counted_per_record() -> None:
    summary = Summary()
    batch = httpx.Response(207, json={"accepted": 3, "rejected": 1, "failed": 0})
    _count(summary, 4, 207, batch)
    _count(summary, 1, 200, httpx.Response(200, json={}))
    _count(summary, 1, 422, httpx.Response(422, json={}))
    _count(summary, 2, 503, httpx.Response(503, json={"details": {"accepted": 1, "failed": 1}}))
    _count(summary, 1, 0, None)
    assert (summary.accepted, summary.rejected, summary.failed) == (5, 2, 2)


def test_arguments() -> None:
    options = parse_args(
        [
            "appclickstream",
            "--url",
            "http://127.0.0.1:8000",
            "--delay",
            "0.5",
            "--rate",
            "100",
            "--count",
            "10",
            "--batch-size",
            "5",
            "--invalid-ratio",
            "0.2",
            "--concurrency",
            "2",
        ]
    )
    assert (options.topic, options.delay, options.rate, options.count) == ("appclickstream", 0.5, 100, 10)
    assert (options.batch_size, options.invalid_ratio, options.concurrency) == (5, 0.2, 2)


ANSWERED = 20  # requests the fake API answers before the run is interrupted


def _interrupting_api(interrupt: Callable[[], object]) -> httpx.MockTransport:
    """Answers the first ANSWERED posts with 200, then interrupts and leaves every later post hanging."""
    posts = itertools.count(1)

    async def handle(request: httpx.Request) -> httpx.Response:
        n = next(posts)
        if n <= ANSWERED:
            return httpx.Response(200, json={"partition": 0, "offset": n})
        if n == ANSWERED + 1:
            interrupt()
        await asyncio.sleep(60)  # in flight until cancelled
        return httpx.Response(200, json={})

    return httpx.MockTransport(handle)


def _sigint() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: asyncio.run cancels the main task


def _raise() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("interrupt", [_sigint, _raise], ids=["sigint", "raised-in-a-request"])
def test_an_interrupted_run_prints_what_it_did_and_exits_130(
    interrupt: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [TOPIC, "--url", "http://ingest.test", "--count", "1000", "--concurrency", "4", "--seed", "1"]
    started = time.monotonic()
    assert main(argv, transport=_interrupting_api(interrupt)) == INTERRUPTED
    assert time.monotonic() - started < 10, "the requests in flight were not cancelled"
    out = " ".join(capsys.readouterr().out.split())
    assert f"sent {ANSWERED} events in {ANSWERED} requests" in out
    assert f"{ANSWERED} accepted" in out and "0 rejected" in out and "accepted events/s" in out
    assert "p50" in out and "p99" in out
    assert "interrupted" in out


def test_a_cancelled_run_returns_its_summary() -> None:
    async def run() -> Summary:
        task = asyncio.current_task()
        assert task is not None
        options = Options(TOPIC, url="http://ingest.test", count=1000, concurrency=3, seed=2)
        return await generate(options, Console(file=io.StringIO()), transport=_interrupting_api(task.cancel))

    summary = asyncio.run(run())
    assert summary.interrupted and (summary.sent, summary.accepted) == (ANSWERED, ANSWERED)
    assert 1 <= summary.cancelled <= 3  # the posts in flight, one per worker at most


def test_a_run_sends_its_count_and_traces_each_event() -> None:
    seen: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.extend(body)
        return httpx.Response(200, json={"accepted": len(body), "rejected": 0, "failed": 0})

    options = Options(
        TOPIC, url="http://ingest.test", count=25, batch_size=10, concurrency=2, trace_field="page", seed=3
    )
    quiet, api = Console(file=io.StringIO()), httpx.MockTransport(handle)
    summary = asyncio.run(generate(options, quiet, transport=api))
    assert (summary.sent, summary.accepted, summary.requests, summary.interrupted) == (25, 25, 3, False)
    assert set(summary.traced) == {event["page"] for event in seen} and len(summary.traced) == 25


def test_the_ingest_url_is_required() -> None:
    with pytest.raises(SystemExit):
        parse_args([TOPIC, "--count", "1"])
    with pytest.raises(ValueError, match="--url"):
        asyncio.run(generate(Options(TOPIC, count=1), Console(file=io.StringIO())))
