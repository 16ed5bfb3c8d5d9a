"""Request-scoped dependencies, exposed as ``Annotated`` aliases for the routes."""

from __future__ import annotations

import json
from hmac import compare_digest
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from ingest_api.config import IngestSettings, get_ingest_settings
from ingest_api.errors import (
    InvalidJson,
    PayloadTooLarge,
    RecordsRejected,
    Unauthorized,
    UnsupportedMediaType,
)
from ingest_api.service import IngestService

SettingsDep = Annotated[IngestSettings, Depends(get_ingest_settings)]
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
SPLIT = "split it into smaller batches"


def get_service(request: Request) -> IngestService:
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[IngestService, Depends(get_service)]


def require_api_key(settings: SettingsDep, key: Annotated[str | None, Depends(_api_key_header)]) -> None:
    """X-API-Key must match when the settings require it (bound beyond loopback by default)."""
    if not settings.auth_required:
        return
    if key is None or settings.api_key is None or not compare_digest(key, settings.api_key):
        raise Unauthorized("missing or wrong X-API-Key header")


async def _json_body(request: Request, settings: IngestSettings) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"expected application/json, got {media_type or 'no content type'}")
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes", hint=SPLIT)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes", hint=SPLIT)
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidJson(f"body is not valid JSON: {error}") from error


async def one_event(request: Request, settings: SettingsDep) -> Any:
    """The JSON body of a single-event request."""
    return await _json_body(request, settings)


async def event_batch(request: Request, settings: SettingsDep) -> list[Any]:
    """The JSON array of a batch request, within the record limit."""
    body = await _json_body(request, settings)
    if not isinstance(body, list):
        raise InvalidJson("a batch is a JSON array of events")
    if not body:
        raise RecordsRejected("empty batch: send at least one event")
    if len(body) > settings.max_batch_records:
        raise PayloadTooLarge(
            f"{len(body)} records exceed the limit of {settings.max_batch_records}", hint=SPLIT
        )
    return body


EventBody = Annotated[Any, Depends(one_event)]
BatchBody = Annotated[list[Any], Depends(event_batch)]
ApiKey = Depends(require_api_key)
