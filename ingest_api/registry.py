"""The latest schema of a topic's subject (``{topic}-value``), with a validator compiled per schema id.

Lookups are cached per topic for ``schema_cache_ttl_s`` so the request path never waits on the
registry while the entry is fresh (:meth:`SchemaSource.cached`, safe on the event loop); a stale
or missing entry is fetched with :meth:`SchemaSource.latest` (blocking: call it from a worker
thread). An evolved schema is therefore picked up within about the TTL.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
from confluent_kafka.schema_registry import (
    RegisteredSchema,
    SchemaRegistryClient,
    topic_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from ingest_api.errors import RegistryUnavailable, SubjectNotFound, UnsupportedSchema
from ingest_api.validation import RecordValidator

SUBJECT_NOT_FOUND = {40401, 40402, 40403, 40404}


def subject_for(topic: str) -> str:
    """TopicNameStrategy for record values."""
    return f"{topic}-value"


@dataclass(frozen=True)
class TopicSchema:
    """The latest registered schema of a topic and the validator/encoder compiled from it."""

    registered: RegisteredSchema
    validator: RecordValidator
    serializer: AvroSerializer  # confluent-kafka's: Confluent wire format with this schema's id
    fetched_at: float

    @property
    def schema_id(self) -> int:
        return self.registered.schema_id if self.registered.schema_id is not None else -1


def _has_rules(registered: RegisteredSchema) -> bool:
    rules = registered.schema.rule_set
    return rules is not None and bool(rules.migration_rules or rules.domain_rules or rules.encoding_rules)


class SchemaSource:
    """Latest registered schema of a topic and its :class:`RecordValidator`."""

    def __init__(self, client: SchemaRegistryClient, *, retry_after: int = 5, ttl_s: float = 30.0) -> None:
        self.client = client
        self.retry_after = retry_after
        self.ttl_s = ttl_s
        self._validators: dict[int, RecordValidator] = {}
        self._topics: dict[str, TopicSchema] = {}
        self._lock = threading.Lock()

    def cached(self, topic: str) -> TopicSchema | None:
        """The topic's entry while it is fresh, else None (never blocks)."""
        entry = self._topics.get(topic)
        if entry is None or time.monotonic() - entry.fetched_at >= self.ttl_s:
            return None
        return entry

    def latest(self, topic: str) -> TopicSchema:
        """Fetch (through the client's own TTL cache) and remember; blocks on a registry call."""
        subject = subject_for(topic)
        try:
            registered = self.client.get_latest_version(subject)
        except SchemaRegistryError as error:
            if error.http_status_code == 404 or error.error_code in SUBJECT_NOT_FOUND:
                raise SubjectNotFound(
                    f"no schema registered for topic '{topic}' (subject '{subject}')",
                    hint="put it in schemas/<topic>.avsc and register it: `dataplat schemas`",
                ) from error
            raise RegistryUnavailable(
                f"schema registry answered {error.http_status_code}: {error.error_message}",
                retry_after=self.retry_after,
            ) from error
        except httpx.HTTPError as error:
            raise RegistryUnavailable(
                f"schema registry unreachable: {type(error).__name__}", retry_after=self.retry_after
            ) from error
        entry = TopicSchema(
            registered, self._validator(registered), self._serializer(registered), time.monotonic()
        )
        self._topics[topic] = entry
        return entry

    def _validator(self, registered: RegisteredSchema) -> RecordValidator:
        schema_id = registered.schema_id if registered.schema_id is not None else -1
        validator = self._validators.get(schema_id)
        if validator is None:
            try:
                validator = RecordValidator(registered.schema.schema_str or "null")
            except ValueError as error:
                raise UnsupportedSchema(f"subject '{registered.subject}': {error}") from error
            with self._lock:
                self._validators[schema_id] = validator
        return validator

    def _serializer(self, registered: RegisteredSchema) -> AvroSerializer:
        """Encodes with exactly the registered version (never registers); blocks on one registry lookup.

        Without data-contract rules the serializer is given the registered schema itself and looks
        its id up once (verified here); with ``use.schema.id`` it would re-resolve the schema, its
        parse and its rules on every record (3x the cost). A schema with rules keeps that path so
        its rules still run.
        """
        schema = registered.schema
        conf = {"auto.register.schemas": False, "subject.name.strategy": topic_subject_name_strategy}
        plain = registered.subject is not None and not _has_rules(registered)
        if plain and self._lookup(registered.subject or "", registered) == registered.schema_id:
            return AvroSerializer(self.client, schema, conf=conf)  # its lookup: a client cache hit
        by_id = {**conf, "use.schema.id": registered.schema_id}
        return AvroSerializer(self.client, schema.schema_str, conf=by_id)

    def _lookup(self, subject: str, registered: RegisteredSchema) -> int | None:
        """The id the registry gives this schema under ``subject`` (None: not found as such)."""
        try:
            return self.client.lookup_schema(subject, registered.schema).schema_id
        except SchemaRegistryError:
            return None  # then the per-record path by id, as before
        except httpx.HTTPError as error:
            raise RegistryUnavailable(
                f"schema registry unreachable: {type(error).__name__}", retry_after=self.retry_after
            ) from error

    def ping(self) -> None:
        """Raises when the registry does not answer (readiness)."""
        try:
            self.client.get_subjects()
        except (SchemaRegistryError, httpx.HTTPError) as error:
            raise RegistryUnavailable(f"schema registry: {error}", retry_after=self.retry_after) from error
