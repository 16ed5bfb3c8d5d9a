"""The Kafka side: produce, and one delivery callback that settles asyncio futures.

Delivery reports are served on the event loop itself: a pump task calls ``poll(0)`` every
millisecond while anything is in flight (and every 100 ms when idle, for error callbacks), so a
report settles its request's future directly, with no thread hand-off. (A poll thread would
re-acquire the GIL for every report; under load each acquisition waits up to the interpreter's
5 ms switch interval behind the busy event loop.) ``message.timeout.ms`` bounds how long a
record may wait: then it fails and the request answers 503. After the client reports all brokers
down, a request first re-checks the cluster (at most once a second) and fails fast with 503
while it is still unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from ingest_api import metrics
from ingest_api.errors import KafkaUnavailable

log = logging.getLogger(__name__)
_KAFKA_LOG = logging.getLogger("ingest_api.kafka")  # librdkafka's own log lines
BUSY_POLL_S = 0.001  # pump period while records are in flight (uvloop timers have 1 ms resolution)
REPORT_GRACE_S = 5.0  # a record without a report this long after message.timeout.ms is failed
IDLE_POLL_S = 0.1  # pump period when idle: error callbacks (all brokers down) still arrive


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


class _Pending(NamedTuple):  # one per record: a tuple is the cheapest to build
    future: asyncio.Future[Delivery]
    loop: asyncio.AbstractEventLoop
    started: float
    serial: int


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
        *,
        retry_after: int = 5,
        producer_factory: Callable[[dict[str, Any]], Any] = Producer,
    ) -> None:
        self.retry_after = retry_after
        self._producer = producer_factory({**config, "error_cb": self._on_error, "logger": _KAFKA_LOG})
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._pump: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._wake_queued = False  # a wake-up from another thread is on its way to the loop
        # awaited records by send order: the pump fails any without a report past the deadline
        self._pending: dict[int, _Pending] = {}
        self._serial = itertools.count()
        self._report_deadline_s = config.get("message.timeout.ms", 300_000) / 1000 + REPORT_GRACE_S
        self._next_sweep = 0.0
        self._all_down = False
        self._last_check = 0.0
        self._check_lock = threading.Lock()

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Serve delivery reports on the running event loop (else on the loop of the first send)."""
        with contextlib.suppress(RuntimeError):  # no loop yet: attached by the first send
            self._attach(asyncio.get_running_loop())

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the pump on ``loop`` (call it on that loop's thread)."""
        if self._loop is loop and self._pump is not None and not self._pump.done():
            return
        self._loop, self._loop_thread, self._wake = loop, threading.get_ident(), asyncio.Event()
        self._pump = loop.create_task(self._run_pump(self._wake), name="kafka-delivery")

    async def _run_pump(self, wake: asyncio.Event) -> None:
        poll = self._producer.poll
        while not self._closing:
            poll(0)
            if self._pending and time.monotonic() >= self._next_sweep:
                self._sweep()
            if len(self._producer):  # queued, in flight, or reports waiting to be served
                await asyncio.sleep(BUSY_POLL_S)
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), IDLE_POLL_S)

    def _sweep(self) -> None:
        """Fail awaited records whose report is overdue (librdkafka should never let this happen)."""
        now = time.monotonic()
        self._next_sweep = now + 1.0
        for serial, pending in list(self._pending.items()):
            if now - pending.started < self._report_deadline_s:
                break  # in send order: the rest are younger
            del self._pending[serial]
            _settle(pending.future, Delivery(error="no delivery report in time"))

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def close(self, timeout_s: float) -> int:
        """Flush in-flight records (delivery callbacks still settle their futures); returns the rest."""
        self._closing = True  # the pump stops; flush serves the remaining reports
        return int(self._producer.flush(timeout_s))

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

    @property
    def known_down(self) -> bool:
        """The client reported all brokers down (then :meth:`ensure_available` may block)."""
        return self._all_down

    # producing -------------------------------------------------------------------------------
    def send(
        self, topic: str, value: bytes, loop: asyncio.AbstractEventLoop, key: bytes | None = None
    ) -> asyncio.Future[Delivery]:
        """Queue one record; the returned future settles with its :class:`Delivery` (thread-safe)."""
        future: asyncio.Future[Delivery] = asyncio.Future(loop=loop)
        pending = _Pending(future, loop, time.monotonic(), next(self._serial))
        try:
            self._producer.produce(topic, value, key, on_delivery=partial(self._on_delivery, pending))
            self._pending[pending.serial] = pending
        except BufferError as error:
            raise KafkaUnavailable("producer queue is full", retry_after=1) from error
        except KafkaException as error:
            raise KafkaUnavailable(
                f"produce failed: {_reason(error)}", retry_after=self.retry_after
            ) from error
        self._wake_pump(loop)  # after produce: the pump then finds the record queued
        return future

    def _wake_pump(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._on_loop_thread() and self._loop is loop:
            assert self._wake is not None
            self._wake.set()
        elif self._loop is loop:
            # a batch sends hundreds of records from the encoder thread: one wake-up in flight
            # is enough (it is cleared before the pump is woken, so a later record queues another)
            if not self._wake_queued:
                self._wake_queued = True
                loop.call_soon_threadsafe(self._woken, loop)
        else:  # first send on this loop (tests, or a producer started outside a loop)
            loop.call_soon_threadsafe(self._attach, loop)

    def _woken(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wake_queued = False
        self._wake_pump(loop)

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
        """The one delivery callback (the pump, or flush at shutdown): metrics, then settle the future."""
        if isinstance(pending, str):  # a dead-letter record of topic ``pending``
            metrics.DLQ.labels(pending, "failed" if error else "written").inc()
            return
        self._pending.pop(pending.serial, None)
        topic = message.topic() or ""
        if error is None:
            metrics.labelled(metrics.PRODUCE_LATENCY, topic).observe(time.monotonic() - pending.started)
            delivery = Delivery(message.partition() or 0, message.offset() or 0)
        else:
            delivery = Delivery(
                error=f"{error.name()}: {error.str()}",
                retriable=error.retriable() or error.code() == KafkaError._MSG_TIMED_OUT,
            )
        if self._on_loop_thread() and pending.loop is self._loop:
            _settle(pending.future, delivery)
            return
        with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits any more
            pending.loop.call_soon_threadsafe(_settle, pending.future, delivery)
