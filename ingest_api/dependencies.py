"""The routes' dependencies (settings, the API key, the service) and their request helpers.

Dependencies are ``async def``: FastAPI calls those on the event loop, while a sync one costs a
worker-thread hop per request. FastAPI caches a dependency within a request, so the key check and
the handler share one call of the settings dependency. Each dependency costs the solver some
microseconds per request on the hot single-event path (measured in-process: 7-10 us each), so the
JSON body is read by plain helpers the handlers call, not by dependencies of their own.
"""

from __future__ import annotations

from hmac import compare_digest
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request, Response, Security
from fastapi.security import APIKeyHeader

from ingest_api.config import IngestSettings, get_ingest_settings
from ingest_api.errors import (
    InvalidJson,
    PayloadTooLarge,
    RecordsRejected,
    Unauthorized,
    UnsupportedMediaType,
)
from ingest_api.service import TOPIC_NAME, IngestService

SPLIT = "split it into smaller batches"
API_KEY_HEADER = "X-API-Key"

# auto_error=False: a missing key is our 401 (with our error body), and only when auth is required
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="required when the API is bound beyond loopback (or INGEST_REQUIRE_API_KEY=true)",
)

SettingsDep = Annotated[IngestSettings, Depends(get_ingest_settings)]
ApiKeyDep = Annotated[str | None, Security(api_key_header)]
# the service checks the name (a 422 with our error body); the pattern here documents it
TopicPath = Annotated[
    str,
    Path(
        description="Kafka topic; its schema is subject {topic}-value",
        json_schema_extra={"pattern": f"^{TOPIC_NAME.pattern}$"},
    ),
]


async def get_service(request: Request) -> IngestService:
    """The service the lifespan built (one Kafka producer per process)."""
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[IngestService, Depends(get_service)]


async def require_api_key(settings: SettingsDep, key: ApiKeyDep) -> None:
    """X-API-Key must match when the settings require it (bound beyond loopback by default)."""
    if not settings.auth_required:
        return
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
