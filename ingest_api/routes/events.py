"""POST events to a topic: one, or a batch with a result per record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from ingest_api.dependencies import ApiKey, BatchBody, EventBody, ServiceDep, SettingsDep
from ingest_api.service import raise_for_outcome

router = APIRouter(prefix="/topics", tags=["events"], dependencies=[ApiKey])
Topic = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9._-]{1,249}$", description="Kafka topic; its schema is subject {topic}-value"),
]
EXAMPLE = {
    "username": "alice",
    "page": "/checkout",
    "event_name": "click",
    "event_time": "2026-11-24T10:00:00Z",
}


def _body_doc(schema: dict[str, Any], example: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/{topic}",
    summary="Write one event",
    openapi_extra=_body_doc({"type": "object"}, EXAMPLE),
    responses={
        200: {"description": "written (partition, offset)"},
        404: {"description": "no schema for the topic"},
        413: {"description": "body too large"},
        415: {"description": "not JSON"},
        422: {"description": "does not match the schema"},
        503: {"description": "Kafka or the registry is unreachable; retry after Retry-After"},
    },
)
async def post_event(topic: Topic, service: ServiceDep, event: EventBody) -> dict[str, Any]:
    outcome = await service.ingest(topic, [event])
    raise_for_outcome(outcome, service.settings.retry_after_s)
    result = outcome.results[0]
    return {
        "topic": topic,
        "schema_id": outcome.schema_id,
        "partition": result.partition,
        "offset": result.offset,
    }


@router.post(
    "/{topic}/batch",
    summary="Write a batch of events",
    openapi_extra=_body_doc({"type": "array", "items": {"type": "object"}}, [EXAMPLE]),
    responses={
        200: {"description": "all written"},
        207: {"description": "some rejected; see results"},
        422: {"description": "none matches the schema"},
        503: {"description": "records not confirmed by Kafka (see results) or a dependency down"},
    },
)
async def post_batch(
    topic: Topic, service: ServiceDep, settings: SettingsDep, events: BatchBody
) -> JSONResponse:
    outcome = await service.ingest(topic, events)
    raise_for_outcome(outcome, settings.retry_after_s)
    status = 207 if outcome.count("rejected") else 200
    return JSONResponse(outcome.as_dict(), status_code=status)
