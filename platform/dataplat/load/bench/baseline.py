"""The ingest benchmark's baseline: the best plain confluent-kafka producer, with no HTTP in front.

One ``AvroSerializer`` built once from the subject's registered schema (its id checked once, before
the clock starts), a ``Producer`` with ``acks=all`` and idempotence, one delivery callback shared by
every record (it counts and keeps librdkafka's own produce-to-delivery latency), a tight
``produce``/``poll(0)`` loop and one ``flush`` at the end. Records have the shape the HTTP paths
send and are built before the clock starts, as the HTTP bodies are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from dataplat.load.bench.figures import Figures, quantiles

PRODUCER_CONFIG = {"acks": "all", "enable.idempotence": True, "linger.ms": 5}
FLUSH_TIMEOUT_S = 60.0


class Delivered(Protocol):
    def latency(self) -> float | None: ...


@dataclass
class DeliveryCounter:
    """The one delivery callback of the run: counts outcomes, keeps each delivery's latency (ms)."""

    delivered: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def __call__(self, error: object, message: Delivered) -> None:
        if error is not None:
            self.failed += 1
            return
        self.delivered += 1
        if (seconds := message.latency()) is not None:
            self.latencies_ms.append(seconds * 1000)


@dataclass(frozen=True)
class ValueSerializer:
    """A topic's value serializer and the id of the registered schema it was built from."""

    serialize: Callable[[dict[str, Any]], bytes]
    schema_id: int


def build_serializer(registry: SchemaRegistryClient, topic: str) -> ValueSerializer:
    """Built once from ``{topic}-value``'s latest registered schema; the first record looks its id up."""
    registered = registry.get_latest_version(f"{topic}-value")
    conf = {"auto.register.schemas": False, "subject.name.strategy": topic_subject_name_strategy}
    serializer = AvroSerializer(registry, registered.schema, conf=conf)
    context = SerializationContext(topic, MessageField.VALUE)

    def serialize(record: dict[str, Any]) -> bytes:
        value: bytes | None = serializer(record, context)
        if value is None:
            raise ValueError("the serializer returned nothing for a record")
        return value

    return ValueSerializer(serialize, int(registered.schema_id or -1))


def records(count: int, now_ms: int) -> list[dict[str, Any]]:
    """Click events of the shape the HTTP paths post."""
    return [
        {"username": f"user{i % 200:03d}", "page": "/bench", "event_name": "click", "event_time": now_ms}
        for i in range(count)
    ]


def run_baseline(
    registry: SchemaRegistryClient,
    kafka: dict[str, Any],
    topic: str,
    events: int,
    *,
    producer_factory: Callable[[dict[str, Any]], Any] = Producer,
) -> Figures:
    """Serialize and produce ``events`` records, wait for every delivery; rate and latency."""
    serializer = build_serializer(registry, topic)
    serialize, batch = serializer.serialize, records(events, int(time.time() * 1000))
    if batch and (used := int.from_bytes(serialize(batch[0])[1:5], "big")) != serializer.schema_id:
        # the first record did the serializer's one lookup, before the clock: checked once
        raise RuntimeError(f"the serializer encodes with schema id {used}, not {serializer.schema_id}")
    counter = DeliveryCounter()
    producer = producer_factory({**kafka, **PRODUCER_CONFIG, "on_delivery": counter})
    produce, poll = producer.produce, producer.poll
    started = time.perf_counter()
    for record in batch:
        value = serialize(record)
        while True:
            try:
                produce(topic, value)
                break
            except BufferError:  # librdkafka's queue is full: serve delivery reports, retry
                poll(0.05)
        poll(0)
    left = producer.flush(FLUSH_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if left or counter.failed:
        raise RuntimeError(f"baseline: {counter.failed} deliveries failed, {left} not delivered in time")
    p50, p99 = quantiles(counter.latencies_ms)
    return Figures(counter.delivered, elapsed, p50, p99)
