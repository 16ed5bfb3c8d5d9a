"""Liveness, readiness (Kafka and the registry answer) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ingest_api import metrics as ingest_metrics
from ingest_api.dependencies import ServiceDep
from ingest_api.errors import Unavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Kafka and the schema registry are reachable")
async def readyz(service: ServiceDep) -> JSONResponse:
    checks = {"kafka": service.producer.check_cluster, "registry": service.schemas.ping}
    results = await asyncio.gather(
        *(asyncio.to_thread(check) for check in checks.values()), return_exceptions=True
    )
    body: dict[str, str] = {}
    for name, result in zip(checks, results, strict=True):
        if isinstance(result, Unavailable):
            body[name] = result.message
        elif isinstance(result, BaseException):
            body[name] = f"{type(result).__name__}: {result}"
        else:
            body[name] = "ok"
    ready = all(value == "ok" for value in body.values())
    headers = {} if ready else {"Retry-After": str(service.settings.retry_after_s)}
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503, headers=headers)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(ingest_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
