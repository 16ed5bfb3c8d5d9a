"""POST events to a topic: one, or a batch with a result per record.

The handlers take the raw request (no body model, no sync dependencies) and answer with
orjson: the single-event path is hot.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response

from ingest_api.dependencies import (
    authorize,
    current_settings,
    event_batch,
    get_service,
    json_body,
    json_response,
)
from ingest_api.errors import InvalidTopic
from ingest_api.service import IngestService, raise_for_outcome

router = APIRouter(prefix="/topics", tags=["events"])
TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
TOPIC_PARAMETER = {
    "name": "topic",
    "in": "path",
    "required": True,
    "description": "Kafka topic; its schema is subject {topic}-value",
    "schema": {"type": "string", "pattern": f"^{TOPIC.pattern}$"},
}
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
    content = {"application/json": {"schema": schema, "example": example}}
    return {
        "requestBody": {"required": True, "content": content},
        "parameters": [TOPIC_PARAMETER],
        "security": [{"APIKeyHeader": []}],
    }


def _prepare(request: Request) -> tuple[str, IngestService]:
    """Auth and the topic name, without FastAPI's dependency machinery (the path is hot)."""
    authorize(request)
    topic: str = request.path_params["topic"]
    if TOPIC.fullmatch(topic) is None:
        raise InvalidTopic(f"not a valid topic name: {topic!r:.80}")
    return topic, get_service(request)


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
async def post_event(request: Request) -> Response:
    topic, service = _prepare(request)
    event = await json_body(request, current_settings(request))
    outcome = await service.ingest(topic, [event])
    raise_for_outcome(outcome, service.settings.retry_after_s)
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
async def post_batch(request: Request) -> Response:
    topic, service = _prepare(request)
    settings = current_settings(request)
    outcome = await service.ingest(topic, await event_batch(request, settings))
    raise_for_outcome(outcome, settings.retry_after_s)
    return json_response(outcome.as_dict(), 207 if outcome.count("rejected") else 200)
