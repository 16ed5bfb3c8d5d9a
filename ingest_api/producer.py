"""The Kafka side: Avro encoding, produce, and one delivery callback that settles asyncio futures.

A background thread polls the producer; each delivery report resolves its request's future on the
event loop (``loop.call_soon_threadsafe``), so a request awaits exactly its own records without
flushing. ``message.timeout.ms`` bounds how long a record may wait: then it fails and the request
answers 503. After the client reports all brokers down, a request first re-checks the cluster
(at most once a second) and fails fast with 503 while it is still unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from ingest_api import metrics
from ingest_api.errors import KafkaUnavailable

log = logging.getLogger(__name__)
_KAFKA_LOG = logging.getLogger("ingest_api.kafka")  # librdkafka's own log lines
SERIALIZER_CONF = {
    "auto.register.schemas": False,
    "use.latest.version": True,
    # explicit: the default strategy first asks a Confluent-only endpoint
    "subject.name.strategy": topic_subject_name_strategy,
}


@dataclass(frozen=True)
class Delivery:
    """Outcome of one record: where it was written, or why not."""

    partition: int = -1
    offset: int = -1
    error: str | None = None
    retriable: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Pending:
    future: asyncio.Future[Delivery]
    loop: asyncio.AbstractEventLoop
    started: float


def _reason(error: KafkaException) -> str:
    first = error.args[0] if error.args else error
    return first.str() if isinstance(first, KafkaError) else str(first)


def _settle(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if not future.done():  # the request may have given up (cancelled) meanwhile
        future.set_result(delivery)


class EventProducer:
    """One idempotent producer (acks=all) shared by every request of the process."""

    def __init__(
        self,
        config: dict[str, Any],
        registry: SchemaRegistryClient,
        *,
        retry_after: int = 5,
        producer_factory: Callable[[dict[str, Any]], Any] = Producer,
    ) -> None:
        self.retry_after = retry_after
        self._producer = producer_factory({**config, "error_cb": self._on_error, "logger": _KAFKA_LOG})
        self._serializer = AvroSerializer(registry, schema_str=None, conf=SERIALIZER_CONF)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._all_down = False
        self._last_check = 0.0
        self._check_lock = threading.Lock()

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-delivery", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def close(self, timeout_s: float) -> int:
        """Flush in-flight records (delivery callbacks still settle their futures); returns the rest."""
        remaining = self._producer.flush(timeout_s)
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=2)
        return remaining

    # health ----------------------------------------------------------------------------------
    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._all_down = True
        log.warning("kafka client: %s", error)

    def check_cluster(self, timeout_s: float = 2.0) -> None:
        """Raises :class:`KafkaUnavailable` unless a metadata request lists a live broker."""
        try:
            metadata = self._producer.list_topics(timeout=timeout_s)
        except KafkaException as error:
            raise KafkaUnavailable(
                f"kafka unreachable: {_reason(error)}", retry_after=self.retry_after
            ) from error
        if not metadata.brokers:
            raise KafkaUnavailable("kafka: no live brokers", retry_after=self.retry_after)
        self._all_down = False

    def ensure_available(self) -> None:
        """Fail fast while the cluster is known to be down (re-checked at most once a second)."""
        if not self._all_down:
            return
        with self._check_lock:
            if not self._all_down:
                return
            if time.monotonic() - self._last_check < 1.0:
                raise KafkaUnavailable("kafka unreachable (all brokers down)", retry_after=self.retry_after)
            self._last_check = time.monotonic()
            self.check_cluster(timeout_s=1.0)

    # producing -------------------------------------------------------------------------------
    def encode(self, topic: str, value: dict[str, Any]) -> bytes:
        """Confluent wire format with the subject's latest schema id (blocking on a registry miss)."""
        encoded = self._serializer(value, SerializationContext(topic, MessageField.VALUE))
        assert encoded is not None
        return encoded

    def send(
        self, topic: str, value: bytes, loop: asyncio.AbstractEventLoop, key: bytes | None = None
    ) -> asyncio.Future[Delivery]:
        """Queue one record; the returned future settles with its :class:`Delivery` (thread-safe)."""
        future: asyncio.Future[Delivery] = asyncio.Future(loop=loop)
        pending = _Pending(future, loop, time.perf_counter())
        try:
            self._producer.produce(topic, value, key, on_delivery=partial(self._on_delivery, pending))
        except BufferError as error:
            raise KafkaUnavailable("producer queue is full", retry_after=1) from error
        except KafkaException as error:
            raise KafkaUnavailable(
                f"produce failed: {_reason(error)}", retry_after=self.retry_after
            ) from error
        return future

    def send_dlq(self, topic: str, document: dict[str, Any], source_topic: str) -> None:
        """Best effort: a rejected record and why, as JSON (outcome counted, never awaited)."""
        try:
            self._producer.produce(
                topic,
                json.dumps(document, default=str).encode(),
                on_delivery=partial(self._on_delivery, source_topic),
            )
        except (BufferError, KafkaException):
            metrics.DLQ.labels(source_topic, "failed").inc()

    def _on_delivery(self, pending: _Pending | str, error: KafkaError | None, message: Message) -> None:
        """The one delivery callback (poll thread): metrics, then settle the request's future."""
        if isinstance(pending, str):  # a dead-letter record of topic ``pending``
            metrics.DLQ.labels(pending, "failed" if error else "written").inc()
            return
        topic = message.topic() or ""
        if error is None:
            metrics.PRODUCE_LATENCY.labels(topic).observe(time.perf_counter() - pending.started)
            delivery = Delivery(message.partition() or 0, message.offset() or 0)
        else:
            delivery = Delivery(
                error=f"{error.name()}: {error.str()}",
                retriable=error.retriable() or error.code() == KafkaError._MSG_TIMED_OUT,
            )
        with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits any more
            pending.loop.call_soon_threadsafe(_settle, pending.future, delivery)
