"""The ASGI app: the API mounted at ``/apis/ccompat/v7`` (Apicurio's path) and at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from schema_registry.errors import RegistryResponse, install_handlers
from schema_registry.routes import router
from schema_registry.store import Store

CCOMPAT_PREFIX = "/apis/ccompat/v7"


def create_app(db_path: Path | str) -> FastAPI:
    """A registry app storing its state in the SQLite file ``db_path`` (created if missing)."""
    store = Store(db_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="dataplat schema registry",
        summary="Confluent-compatible (AVRO) stand-in for a Confluent or Apicurio registry",
        default_response_class=RegistryResponse,
        lifespan=lifespan,
        openapi_url=None,
    )
    app.state.store = store
    install_handlers(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        store.subjects()  # the database answers
        return {"status": "ok"}

    app.include_router(router, prefix=CCOMPAT_PREFIX)
    app.include_router(router)
    return app
