"""The ingest API: JSON events in, validated Avro records in Kafka out (``uvicorn ingest_api.main:app``).

The lifespan owns the Kafka producer and the schema registry client; shutdown flushes in-flight
records. Domain errors become HTTP answers in one handler (503s carry ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest_api.config import IngestSettings, get_ingest_settings
from ingest_api.errors import IngestError, Unavailable
from ingest_api.producer import EventProducer
from ingest_api.registry import SchemaSource
from ingest_api.routes import events, health
from ingest_api.service import IngestService

log = logging.getLogger("ingest_api")
SHUTDOWN_FLUSH_S = 15.0


async def _settings(app: FastAPI) -> IngestSettings:
    """The settings dependency as a request would get it (``app.dependency_overrides`` wins)."""
    factory: Callable[[], Any] = app.dependency_overrides.get(get_ingest_settings, get_ingest_settings)
    settings = factory()
    return await settings if inspect.isawaitable(settings) else settings  # type: ignore[no-any-return]


def build_service(settings: IngestSettings) -> IngestService:
    registry = SchemaRegistryClient.new_client(settings.registry_config())  # mock:// URLs for tests
    producer = EventProducer(settings.producer_config(), retry_after=settings.retry_after_s)
    schemas = SchemaSource(registry, retry_after=settings.retry_after_s, ttl_s=settings.schema_cache_ttl_s)
    return IngestService(settings, schemas, producer)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = await _settings(app)
    service: IngestService = app.state.service_factory(settings)
    service.producer.start()
    app.state.service = service
    log.info(
        "ingest API: kafka %s, registry %s, api key %s",
        settings.kafka_bootstrap,
        settings.registry_url,
        "required" if settings.auth_required else "not required",
    )
    try:
        yield
    finally:
        await asyncio.to_thread(service.stop_encoding)
        left = await asyncio.to_thread(service.producer.close, SHUTDOWN_FLUSH_S)
        if left:
            log.error("shutdown: %d records still unconfirmed after %.0f s", left, SHUTDOWN_FLUSH_S)
        service.schemas.client.close()


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, IngestError)
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.hint:
        body["hint"] = error.hint
    if error.details is not None:
        body["details"] = error.details
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Unavailable) else None
    if error.status >= 500 and not isinstance(error, Unavailable):
        log.error("ingest failed: %s", error.message)
    return JSONResponse(body, status_code=error.status, headers=headers)


def create_app(service_factory: Callable[[IngestSettings], IngestService] = build_service) -> FastAPI:
    app = FastAPI(
        title="dataplat ingest API",
        lifespan=lifespan,
        description="JSON events in, schema-validated Avro records in Kafka out.",
    )
    app.state.service_factory = service_factory
    app.add_exception_handler(IngestError, _domain_error)
    app.include_router(events.router)
    app.include_router(health.router)
    return app


app = create_app()
