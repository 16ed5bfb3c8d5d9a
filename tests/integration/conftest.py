"""Integration tests use the session-wide ``stack``, ``settings`` and ``ingest_url`` of tests/conftest.py,
and the registry client and fresh clickstream-schema topics below."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from dataplat.settings import REPO_ROOT, Settings

CLICK_SCHEMA = (REPO_ROOT / "schemas" / "appclickstream.avsc").read_text()


@pytest.fixture(scope="session")
def registry(settings: Settings) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": settings.registry_url})


@pytest.fixture
def topic(registry: SchemaRegistryClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh topic (named after the test module) whose subject holds the clickstream schema."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    name = f"it-{module}-{uuid.uuid4().hex[:10]}"
    registry.register_schema(f"{name}-value", Schema(CLICK_SCHEMA, "AVRO"))
    yield name
    for permanent in (False, True):
        registry.delete_subject(f"{name}-value", permanent=permanent)
