"""POST events to a topic: one, or a batch with a result per record.

Thin handlers: the router's dependency checks the API key; the settings and the service are
dependencies (:mod:`ingest_api.dependencies`); the handlers read the raw body (no body model) and
answer with orjson (the single-event path is hot).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from ingest_api.dependencies import (
    ServiceDep,
    SettingsDep,
    TopicPath,
    event_batch,
    json_body,
    json_response,
    require_api_key,
)
from ingest_api.service import raise_for_outcome

# the key check runs first, before the body is read (and documents the security scheme)
router = APIRouter(prefix="/topics", tags=["events"], dependencies=[Depends(require_api_key)])
EXAMPLE = {
    "username": "alice",
    "page": "/checkout",
    "event_name": "click",
    "event_time": "2026-11-24T10:00:00Z",
}

ERRORS: dict[int | str, dict[str, Any]] = {  # the answers of both routes besides success
    400: {"description": "body is not valid JSON (a batch: not a JSON array)"},
    401: {"description": "missing or wrong X-API-Key (required when bound beyond loopback)"},
    404: {"description": "no schema for the topic"},
    413: {"description": "body too large"},
    415: {"description": "not JSON"},
    503: {"description": "Kafka or the registry is unreachable; retry after Retry-After"},
}


def _body_doc(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    """The request body's document (the handlers read the raw body: no body model to derive it from)."""
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/{topic}",
    summary="Write one event",
    openapi_extra=_body_doc({"type": "object"}, EXAMPLE),
    responses={
        200: {"description": "written (partition, offset)"},
        **ERRORS,
        422: {"description": "does not match the schema, or not a valid topic name"},
    },
)
async def post_event(
    topic: TopicPath, request: Request, settings: SettingsDep, service: ServiceDep
) -> Response:
    outcome = await service.ingest(topic, [await json_body(request, settings)])
    raise_for_outcome(outcome, settings.retry_after_s)
    result = outcome.results[0]
    return json_response(
        {
            "topic": topic,
            "schema_id": outcome.schema_id,
            "partition": result.partition,
            "offset": result.offset,
        }
    )


@router.post(
    "/{topic}/batch",
    summary="Write a batch of events",
    openapi_extra=_body_doc({"type": "array", "items": {"type": "object"}}, [EXAMPLE]),
    responses={
        200: {"description": "all written"},
        207: {"description": "some rejected; see results"},
        **ERRORS,
        413: {"description": "body or batch too large"},
        422: {"description": "none matches the schema, or not a valid topic name"},
        503: {"description": "records not confirmed by Kafka (see results) or a dependency down"},
    },
)
async def post_batch(
    topic: TopicPath, request: Request, settings: SettingsDep, service: ServiceDep
) -> Response:
    outcome = await service.ingest(topic, await event_batch(request, settings))
    raise_for_outcome(outcome, settings.retry_after_s)
    return json_response(outcome.as_dict(), 207 if outcome.count("rejected") else 200)
