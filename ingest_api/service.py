"""The ingest use case: validate a request's records, write the valid ones, report each outcome.

All records are validated and encoded before the first one is produced, so a registry failure
never leaves a half-written request behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from confluent_kafka.schema_registry.error import SchemaRegistryError

from ingest_api import metrics
from ingest_api.config import IngestSettings
from ingest_api.errors import IngestError, KafkaUnavailable, RecordsRejected, RegistryUnavailable, Unavailable
from ingest_api.producer import Delivery, EventProducer
from ingest_api.registry import SchemaSource
from ingest_api.validation import FieldError

Status = Literal["accepted", "rejected", "failed"]


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

    async def ingest(self, topic: str, records: list[Any]) -> Outcome:
        """Write the valid records; raises 503-type errors only when nothing unconfirmed was kept."""
        loop = asyncio.get_running_loop()
        try:
            outcome, futures = await asyncio.to_thread(self._validate_and_send, topic, records, loop)
        except Unavailable as error:
            metrics.REJECTED.labels(topic, error.code).inc(len(records))
            raise
        if futures:
            wait_s = self.settings.delivery_timeout_ms / 1000 + 5
            try:
                deliveries = await asyncio.wait_for(asyncio.gather(*futures.values()), wait_s)
            except TimeoutError:
                deliveries = [Delivery(error="no delivery report in time")] * len(futures)
            for index, delivery in zip(futures, deliveries, strict=True):
                self._record_delivery(topic, outcome.results[index], delivery)
        return outcome

    def _record_delivery(self, topic: str, result: RecordResult, delivery: Delivery) -> None:
        if delivery.ok:
            result.partition, result.offset = delivery.partition, delivery.offset
            metrics.ACCEPTED.labels(topic).inc()
        else:
            result.status = "failed"
            result.errors = [{"field": "$", "reason": f"not written to Kafka: {delivery.error}"}]
            metrics.REJECTED.labels(topic, "delivery_failed").inc()

    def _validate_and_send(
        self, topic: str, records: list[Any], loop: asyncio.AbstractEventLoop
    ) -> tuple[Outcome, dict[int, asyncio.Future[Delivery]]]:
        """Worker thread: may block on the registry (cache miss) and on the Kafka re-check."""
        self.producer.ensure_available()
        registered, validator = self.schemas.latest(topic)
        outcome = Outcome(topic, [], registered.schema_id)
        encoded: dict[int, tuple[bytes | None, bytes]] = {}
        for index, record in enumerate(records):
            value, errors = validator.check(record, reject_unknown=self.settings.reject_unknown_fields)
            if errors:
                outcome.results.append(self._reject(topic, index, record, errors, registered.schema_id))
                continue
            outcome.results.append(RecordResult(index, "accepted"))
            encoded[index] = (self._key(value), self._encode(topic, value))
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

    def _encode(self, topic: str, value: dict[str, Any]) -> bytes:
        try:
            return self.producer.encode(topic, value)
        except SchemaRegistryError as error:
            raise RegistryUnavailable(
                f"schema registry: {error.error_message}", retry_after=self.settings.retry_after_s
            ) from error
        except (TypeError, ValueError) as error:  # validated, so this is a schema change in between
            raise IngestError(f"encoding failed after validation: {error}") from error

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
