"""The ingest benchmark's baseline is the best plain producer: serializer built once, one callback."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer

from dataplat.load.bench import baseline
from dataplat.load.bench.baseline import DeliveryCounter, run_baseline
from dataplat.load.schemas import schema_text

TOPIC = "appclickstream.bench"


class FakeMessage:
    def latency(self) -> float:
        return 0.002


class FakeProducer:
    """Records what is produced; ``flush`` reports each delivery to the configured callback."""

    def __init__(self, config: dict[str, Any], *, full_once: bool = False, fail: bool = False) -> None:
        self.config, self.full_once, self.fail = config, full_once, fail
        self.values: list[bytes] = []
        self.polls: list[float] = []

    def produce(self, topic: str, value: bytes) -> None:  # no per-record callback argument accepted
        assert topic == TOPIC
        if self.full_once:
            self.full_once = False
            raise BufferError("queue full")
        self.values.append(value)

    def poll(self, timeout: float) -> int:
        self.polls.append(timeout)
        return 0

    def flush(self, timeout: float) -> int:
        callback: Callable[[object, FakeMessage], None] = self.config["on_delivery"]
        for _ in self.values:
            callback("broker down" if self.fail else None, FakeMessage())
        return 0


@pytest.fixture
def registry() -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient.new_client({"url": f"mock://load-bench-{uuid.uuid4().hex}"})
    client.register_schema(f"{TOPIC}-value", Schema(schema_text("appclickstream"), "AVRO"))
    yield client
    client.delete_subject(f"{TOPIC}-value", permanent=True)


def _run(registry: Any, events: int, **fake: bool) -> tuple[Any, FakeProducer]:
    producers: list[FakeProducer] = []

    def factory(config: dict[str, Any]) -> FakeProducer:
        producers.append(FakeProducer(config, **fake))
        return producers[-1]

    kafka = {"bootstrap.servers": "unused:9"}
    figures = run_baseline(registry, kafka, TOPIC, events, producer_factory=factory)
    [producer] = producers
    return figures, producer


def test_the_serializer_is_built_once_and_the_registry_asked_a_fixed_number_of_times(
    registry: SchemaRegistryClient,
) -> None:
    spy = mock.Mock(wraps=registry)
    with mock.patch.object(baseline, "AvroSerializer", wraps=AvroSerializer) as built:
        figures, producer = _run(spy, 2000)
    assert built.call_count == 1
    assert len(spy.method_calls) <= 2, spy.method_calls  # the latest version once, the id lookup once
    schema_id = registry.get_latest_version(f"{TOPIC}-value").schema_id or 0
    assert len(producer.values) == 2000 and figures.events == 2000
    assert {value[:5] for value in producer.values} == {b"\x00" + schema_id.to_bytes(4, "big")}
    assert (figures.p50_ms, figures.p99_ms) == pytest.approx((2.0, 2.0))


def test_one_delivery_callback_for_every_record_and_the_producer_is_safe(
    registry: SchemaRegistryClient,
) -> None:
    _, producer = _run(registry, 10)
    config = producer.config
    assert isinstance(config["on_delivery"], DeliveryCounter)
    assert (config["acks"], config["enable.idempotence"]) == ("all", True)
    assert config["bootstrap.servers"] == "unused:9"
    assert producer.polls == [0] * 10  # poll(0) after each produce, nothing else


def test_a_full_queue_is_drained_and_the_record_produced_again(registry: SchemaRegistryClient) -> None:
    figures, producer = _run(registry, 5, full_once=True)
    assert len(producer.values) == 5 and figures.events == 5
    assert producer.polls[0] > 0  # served delivery reports before retrying


def test_failed_deliveries_fail_the_baseline(registry: SchemaRegistryClient) -> None:
    with pytest.raises(RuntimeError, match="5 deliveries failed"):
        _run(registry, 5, fail=True)


def test_delivery_counter() -> None:
    counter = DeliveryCounter()
    counter(None, FakeMessage())
    counter("timed out", FakeMessage())
    assert (counter.delivered, counter.failed, counter.latencies_ms) == (1, 1, [2.0])
