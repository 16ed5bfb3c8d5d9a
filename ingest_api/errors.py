"""Domain errors of the ingest path; :func:`ingest_api.main.create_app` maps them to HTTP once."""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """Base: ``status`` is the HTTP status, ``hint`` tells the caller what to do next."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, hint: str = "", details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details


class Unauthorized(IngestError):
    status, code = 401, "unauthorized"


class SubjectNotFound(IngestError):
    status, code = 404, "unknown_topic"


class UnsupportedSchema(IngestError):
    status, code = 422, "unsupported_schema"


class PayloadTooLarge(IngestError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(IngestError):
    status, code = 415, "unsupported_media_type"


class InvalidTopic(IngestError):
    status, code = 422, "invalid_topic"


class InvalidJson(IngestError):
    status, code = 400, "invalid_json"


class RecordsRejected(IngestError):
    """Every record of the request failed validation (``details``: per-record results)."""

    status, code = 422, "validation_failed"


class Unavailable(IngestError):
    """A dependency is down: the caller should retry after ``retry_after`` seconds."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, hint: str = "", details: Any = None) -> None:
        super().__init__(message, hint=hint, details=details)
        self.retry_after = retry_after


class KafkaUnavailable(Unavailable):
    code = "kafka_unavailable"


class RegistryUnavailable(Unavailable):
    code = "registry_unavailable"
