"""The latest schema of a topic's subject (``{topic}-value``), with a validator compiled per schema id.

The schema registry client keeps the latest version per subject for ``schema_cache_ttl_s`` (the
serializer reads the same cache), so an evolved schema is picked up within the TTL and a subject
that is missing from the cache is fetched on first use.
"""

from __future__ import annotations

import threading

import httpx
from confluent_kafka.schema_registry import RegisteredSchema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from ingest_api.errors import RegistryUnavailable, SubjectNotFound, UnsupportedSchema
from ingest_api.validation import RecordValidator

SUBJECT_NOT_FOUND = {40401, 40402, 40403, 40404}


def subject_for(topic: str) -> str:
    """TopicNameStrategy for record values."""
    return f"{topic}-value"


class SchemaSource:
    """Latest registered schema of a topic and its :class:`RecordValidator`."""

    def __init__(self, client: SchemaRegistryClient, *, retry_after: int = 5) -> None:
        self.client = client
        self.retry_after = retry_after
        self._validators: dict[int, RecordValidator] = {}
        self._lock = threading.Lock()

    def latest(self, topic: str) -> tuple[RegisteredSchema, RecordValidator]:
        """Blocking on a cache miss (call it from a worker thread)."""
        subject = subject_for(topic)
        try:
            registered = self.client.get_latest_version(subject)
        except SchemaRegistryError as error:
            if error.http_status_code == 404 or error.error_code in SUBJECT_NOT_FOUND:
                raise SubjectNotFound(
                    f"no schema registered for topic '{topic}' (subject '{subject}')",
                    hint="register one with `dataplat schemas register` (schemas/<topic>.avsc)",
                ) from error
            raise RegistryUnavailable(
                f"schema registry answered {error.http_status_code}: {error.error_message}",
                retry_after=self.retry_after,
            ) from error
        except httpx.HTTPError as error:
            raise RegistryUnavailable(
                f"schema registry unreachable: {type(error).__name__}", retry_after=self.retry_after
            ) from error
        return registered, self._validator(registered)

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

    def ping(self) -> None:
        """Raises when the registry does not answer (readiness)."""
        try:
            self.client.get_subjects()
        except (SchemaRegistryError, httpx.HTTPError) as error:
            raise RegistryUnavailable(f"schema registry: {error}", retry_after=self.retry_after) from error
