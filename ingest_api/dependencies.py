"""Per-request plumbing for the event routes: settings, API key, JSON bodies, JSON answers.

Plain functions called by the handlers rather than FastAPI dependencies: FastAPI runs a *sync*
dependency in a worker thread, and on the single-event path those hops plus the dependency
solver cost more than validating, encoding and producing the event.
"""

from __future__ import annotations

from collections.abc import Callable
from hmac import compare_digest
from typing import Any

import orjson
from fastapi import Request, Response

from ingest_api.config import IngestSettings, get_ingest_settings
from ingest_api.errors import (
    InvalidJson,
    PayloadTooLarge,
    RecordsRejected,
    Unauthorized,
    UnsupportedMediaType,
)
from ingest_api.service import IngestService

SPLIT = "split it into smaller batches"
API_KEY_HEADER = "X-API-Key"


def current_settings(request: Request) -> IngestSettings:
    """The settings (``app.dependency_overrides[get_ingest_settings]`` wins, as in tests)."""
    factory: Callable[[], IngestSettings] = request.app.dependency_overrides.get(
        get_ingest_settings, get_ingest_settings
    )
    return factory()


def get_service(request: Request) -> IngestService:
    return request.app.state.service  # type: ignore[no-any-return]


def authorize(request: Request) -> None:
    """X-API-Key must match when the settings require it (bound beyond loopback by default)."""
    settings = current_settings(request)
    if not settings.auth_required:
        return
    key = request.headers.get(API_KEY_HEADER)
    # as bytes: compare_digest raises TypeError on non-ASCII str (a header is any Latin-1 text)
    if key is None or settings.api_key is None or not compare_digest(key.encode(), settings.api_key.encode()):
        raise Unauthorized("missing or wrong X-API-Key header")


async def json_body(request: Request, settings: IngestSettings) -> Any:
    """The parsed JSON body, within ``max_body_bytes`` (checked while reading a chunked body)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected application/json, got {media_type or 'no content type'}")
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes", hint=SPLIT)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes", hint=SPLIT)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"body is not valid JSON: {error}") from error


async def event_batch(request: Request, settings: IngestSettings) -> list[Any]:
    """The JSON array of a batch request, within the record limit."""
    body = await json_body(request, settings)
    if not isinstance(body, list):
        raise InvalidJson("a batch is a JSON array of events")
    if not body:
        raise RecordsRejected("empty batch: send at least one event")
    if len(body) > settings.max_batch_records:
        raise PayloadTooLarge(
            f"{len(body)} records exceed the limit of {settings.max_batch_records}", hint=SPLIT
        )
    return body


def json_response(body: Any, status_code: int = 200) -> Response:
    """orjson-encoded answer (skips FastAPI's response-model encoding)."""
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")
