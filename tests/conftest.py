"""Shared fixtures: the real stack, started once per test session (reused when it already runs).

Unit tests never touch it. Integration tests run before browser tests, so the pipelines' tables
exist by the time the dashboards and saved queries are looked at.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from dataplat.runtime import Stack
from dataplat.settings import Settings, get_settings

ORDER = ("/unit/", "/integration/", "/browser/")
# SIGKILLs every service in turn: last, so no other test runs on a stack it has disturbed
RUN_LAST = ("/integration/test_self_healing",)
# py4j says goodbye at INFO from __del__ at interpreter exit, after pytest closed its streams
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    """Bring the whole stack up (never skipped: a stack that cannot start fails the suite).

    Stopped after the session unless it was already running or ``DATAPLAT_KEEP_STACK=1``.
    """

    def report(name: str, phase: str, detail: str) -> None:
        print(f"[stack] {name}: {phase} {detail}"[:200])

    stack = Stack(settings, observer=report)
    was_running = all(status.readiness.ok for status in stack.status())
    stack.up()
    yield stack
    if not was_running and os.environ.get("DATAPLAT_KEEP_STACK") != "1":
        stack.down()


@pytest.fixture(scope="session")
def ingest_url(stack: Stack, settings: Settings) -> str:
    return settings.ingest_url


def _rank(item: pytest.Item) -> int:
    path = str(item.fspath)
    if any(part in path for part in RUN_LAST):
        return len(ORDER)
    return next((i for i, part in enumerate(ORDER) if part in path), len(ORDER))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
    items.sort(key=_rank)  # stable: keeps the order inside each group
