"""The ingest use case: validate a request's records, write the valid ones, report each outcome.

All records are validated and encoded before the first one is produced, so a registry failure
never leaves a half-written request behind. Small requests whose schema is cached run on the
event loop (validation and encoding take microseconds); a large batch runs on the service's one
encoder thread (concurrent batches queue there: several threads encoding at once fight over the
GIL and the serializer's locks, 4 threads took 3x longer per record than one), and a registry fetch
or a re-check of a cluster known to be down runs in a worker thread of its own.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from ingest_api import metrics
from ingest_api.config import IngestSettings
from ingest_api.errors import IngestError, InvalidTopic, KafkaUnavailable, RecordsRejected, Unavailable
from ingest_api.producer import Delivery, EventProducer
from ingest_api.registry import SchemaSource, TopicSchema
from ingest_api.validation import FieldError

Status = Literal["accepted", "rejected", "failed"]
INLINE_MAX_RECORDS = 16  # larger requests are validated and encoded off the event loop
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")  # what Kafka accepts as a topic name


@dataclass
class RecordResult:
    index: int
    status: Status
    partition: int | None = None
    offset: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.status == "accepted":
            body |= {"partition": self.partition, "offset": self.offset}
        else:
            body["errors"] = self.errors
        return body


@dataclass
class Outcome:
    topic: str
    results: list[RecordResult]
    schema_id: int | None = None

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "schema_id": self.schema_id,
            "accepted": self.count("accepted"),
            "rejected": self.count("rejected"),
            "failed": self.count("failed"),
            "results": [result.as_dict() for result in self.results],
        }


class IngestService:
    def __init__(self, settings: IngestSettings, schemas: SchemaSource, producer: EventProducer) -> None:
        self.settings = settings
        self.schemas = schemas
        self.producer = producer
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-encode")

    def stop_encoding(self) -> None:
        """Finish the batches already handed to the encoder thread (before the producer's flush)."""
        self._encoder.shutdown(wait=True)

    async def ingest(self, topic: str, records: list[Any]) -> Outcome:
        """Write the valid records; raises 503-type errors only when nothing unconfirmed was kept."""
        if TOPIC_NAME.fullmatch(topic) is None:
            raise InvalidTopic(f"not a valid topic name: {topic!r:.80}")
        loop = asyncio.get_running_loop()
        try:
            schema = self.schemas.cached(topic)
            if schema is None or self.producer.known_down:  # may block: a thread of its own
                outcome, futures = await asyncio.to_thread(
                    self._validate_and_send, topic, records, loop, schema
                )
            elif len(records) <= INLINE_MAX_RECORDS:
                outcome, futures = self._validate_and_send(topic, records, loop, schema)
            else:
                outcome, futures = await loop.run_in_executor(
                    self._encoder, self._validate_and_send, topic, records, loop, schema
                )
        except Unavailable as error:
            metrics.REJECTED.labels(topic, error.code).inc(len(records))
            raise
        # every future settles: by its delivery report (message.timeout.ms bounds it) or, failing
        # that, by the producer's overdue sweep; no per-request timer on the hot path
        accepted = 0
        try:
            for index, future in futures.items():
                accepted += self._record_delivery(topic, outcome.results[index], await future)
        finally:  # one increment per request: in multi-process mode each is an mmap write
            if accepted:
                metrics.labelled(metrics.ACCEPTED, topic).inc(accepted)
        return outcome

    def _record_delivery(self, topic: str, result: RecordResult, delivery: Delivery) -> bool:
        """Note the record's outcome; True when written (the caller counts those)."""
        if delivery.ok:
            result.partition, result.offset = delivery.partition, delivery.offset
            return True
        result.status = "failed"
        result.errors = [{"field": "$", "reason": f"not written to Kafka: {delivery.error}"}]
        metrics.REJECTED.labels(topic, "delivery_failed").inc()
        return False

    def _validate_and_send(
        self, topic: str, records: list[Any], loop: asyncio.AbstractEventLoop, schema: TopicSchema | None
    ) -> tuple[Outcome, dict[int, asyncio.Future[Delivery]]]:
        """Blocks only without ``schema`` (registry fetch) or while Kafka is known down (re-check)."""
        self.producer.ensure_available()
        if schema is None:
            schema = self.schemas.latest(topic)
        validator, schema_id = schema.validator, schema.schema_id
        outcome = Outcome(topic, [], schema_id)
        encoded: dict[int, tuple[bytes | None, bytes]] = {}
        reject_unknown = self.settings.reject_unknown_fields
        context = SerializationContext(topic, MessageField.VALUE)
        for index, record in enumerate(records):
            value, errors = validator.check(record, reject_unknown=reject_unknown)
            if errors:
                outcome.results.append(self._reject(topic, index, record, errors, schema_id))
                continue
            outcome.results.append(RecordResult(index, "accepted"))
            encoded[index] = (self._key(value), self._encode(schema, value, context))
        futures: dict[int, asyncio.Future[Delivery]] = {}
        for index, (key, value) in encoded.items():
            try:
                futures[index] = self.producer.send(topic, value, loop, key)
            except KafkaUnavailable as error:
                if not futures:
                    raise
                # keep what is already queued: those records are reported individually
                failed = Delivery(error=error.message)
                for late in list(encoded)[list(encoded).index(index) :]:
                    self._record_delivery(topic, outcome.results[late], failed)
                break
        return outcome, futures

    @staticmethod
    def _encode(schema: TopicSchema, value: dict[str, Any], context: SerializationContext) -> bytes:
        try:
            encoded = schema.serializer(value, context)
        except (TypeError, ValueError, SerializationError) as error:  # validated against it: a bug
            raise IngestError(f"encoding failed after validation: {error}") from error
        if encoded is None:  # the serializer's answer to a None value, which validation refuses
            raise IngestError("encoding produced no bytes")
        return encoded

    def _key(self, value: dict[str, Any]) -> bytes | None:
        name = self.settings.key_field
        if name is None or value.get(name) is None:
            return None
        return str(value[name]).encode()

    def _reject(
        self, topic: str, index: int, record: Any, errors: list[FieldError], schema_id: int | None
    ) -> RecordResult:
        metrics.REJECTED.labels(topic, errors[0].kind).inc()
        details = [error.as_dict() for error in errors]
        if self.settings.dlq_enabled:
            self.producer.send_dlq(
                f"{topic}{self.settings.dlq_suffix}",
                {
                    "topic": topic,
                    "schema_id": schema_id,
                    "errors": details,
                    "record": record,
                    "rejected_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                },
                topic,
            )
        return RecordResult(index, "rejected", errors=details)


def raise_for_outcome(outcome: Outcome, retry_after: int) -> None:
    """Map an outcome that is not a success to its domain error (the body keeps every result)."""
    if outcome.count("failed"):
        raise Unavailable(
            "some records were not confirmed by Kafka; retry those marked failed",
            retry_after=retry_after,
            details=outcome.as_dict(),
        )
    if not outcome.count("accepted"):
        raise RecordsRejected(
            "no record matches the topic's schema",
            details=outcome.as_dict(),
            hint="see results[].errors for the field and reason of each problem",
        )
