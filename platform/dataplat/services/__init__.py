"""The catalogue of services: each module describes its processes with ``specs(ctx)``."""

from __future__ import annotations

import importlib
from types import ModuleType

from dataplat.spec import Context, ServiceSpec

# Declaration order is the tie-breaker of the start order.
MODULES = (
    "postgres",
    "hdfs",
    "kafka",
    "registry",
    "metastore",
    "trino",
    "connect",
    "airflow",
    "ingest",
    "source_api",
    "streaming",
    "cdc",
    "sqlpad",
    "superset",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"dataplat.services.{name}")


def available_modules() -> list[str]:
    """Modules that exist in this checkout (lets services land one by one)."""
    found = []
    for name in MODULES:
        try:
            _module(name)
        except ModuleNotFoundError as error:
            if error.name != f"dataplat.services.{name}":
                raise
            continue
        found.append(name)
    return found


def all_specs(ctx: Context) -> list[ServiceSpec]:
    specs: list[ServiceSpec] = []
    for name in available_modules():
        specs.extend(_module(name).specs(ctx))
    return specs
