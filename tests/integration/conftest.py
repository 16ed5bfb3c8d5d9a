"""Integration tests use the session-wide ``stack``, ``settings`` and ``ingest_url`` of tests/conftest.py,
and the registry client and fresh clickstream-schema topics below. No backfill of the DAGs the
tests backfill is left running, before or after the session."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from dataplat.airflow_rest import airflow_client
from dataplat.backfill import cancel_running
from dataplat.runtime import Stack
from dataplat.settings import REPO_ROOT, Settings

CLICK_SCHEMA = (REPO_ROOT / "schemas" / "appclickstream.avsc").read_text()
BACKFILLED_DAGS = ("insights",)


def cancel_backfills(settings: Settings, when: str) -> None:
    with airflow_client(settings) as client:
        for dag_id in BACKFILLED_DAGS:
            for backfill in cancel_running(client, dag_id):
                print(f"[backfill] {when} the tests: cancelled backfill {backfill.id} of {dag_id}")


@pytest.fixture(scope="session", autouse=True)
def no_backfill_left_running(stack: Stack, settings: Settings) -> Iterator[None]:
    """Cancel running backfills before the tests and after them.

    Airflow runs one backfill per DAG at a time: one left running (by an interrupted run, or a
    create that failed after Airflow had stored it) makes every later create answer 409.
    """
    cancel_backfills(settings, "before")
    yield
    try:
        cancel_backfills(settings, "after")
    except Exception as error:  # noqa: BLE001 - the next session cancels it before its tests
        warnings.warn(f"could not cancel backfills after the tests: {error!r}", stacklevel=1)


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
