"""The event generator: what it sends is valid (or broken on purpose), and how it counts answers."""

from __future__ import annotations

import random

import httpx

from dataplat.load.generator import EventFactory, Summary, _count, parse_args
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
