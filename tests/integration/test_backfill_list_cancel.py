"""Backfills seen and stopped through Airflow's REST API (what ``dataplat backfill list|cancel`` do).

With the DAG paused the scheduler starts none of a backfill's runs, so they stay queued: the list
shows the backfill running with its queued runs, a second create is refused (409) naming it, cancel
completes it at once (its queued runs fail), the list then shows it cancelled, and a new backfill
of the same days is accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from dataplat.airflow_rest import airflow_client
from dataplat.backfill import (
    BackfillAlreadyCompleted,
    BackfillAlreadyRunning,
    cancel_backfill,
    cancel_running,
    create_backfill,
    is_paused,
    list_backfills,
    running_backfills,
    set_paused,
    with_runs,
)
from dataplat.runtime import Stack
from dataplat.settings import Settings

DAG_ID = "insights"
DB = "it_backfill_cancel"
FIRST, LAST = dt.date(2026, 9, 21), dt.date(2026, 9, 22)  # days no other test runs (concurrency: October)
CONF = {"count": 10, "seed": 3, "database": DB, "raw_root": f"/lake/raw/{DB}/insights"}


@pytest.fixture
def client(stack: Stack, settings: Settings) -> Iterator[httpx.Client]:
    """Airflow's API with the DAG paused meanwhile; what the test leaves running is cancelled."""
    with airflow_client(settings) as client:
        was_paused = is_paused(client, DAG_ID)
        set_paused(client, DAG_ID, True)
        try:
            yield client
        finally:
            cancel_running(client, DAG_ID)
            set_paused(client, DAG_ID, was_paused)


def create(client: httpx.Client) -> int:
    return create_backfill(client, DAG_ID, FIRST, LAST, CONF, reprocess="completed").id


def test_list_shows_a_backfill_cancel_stops_it_and_another_can_start(client: httpx.Client) -> None:
    assert running_backfills(client, DAG_ID) == [], "the session fixture cancels leftovers first"
    first = create(client)

    listed = {b.id: b for b in list_backfills(client, DAG_ID)}
    assert first in listed, listed
    assert listed[first].state == "running"
    assert listed[first].days == f"{FIRST}..{LAST}"
    assert with_runs(client, listed[first]).runs == {"queued": 2}
    assert [b.id for b in running_backfills(client, DAG_ID)] == [first]

    with pytest.raises(BackfillAlreadyRunning) as refused:
        create(client)
    assert [b.id for b in refused.value.running] == [first]
    assert f"dataplat backfill cancel {first}" in str(refused.value)

    cancelled = cancel_backfill(client, first)
    assert cancelled.completed_at is not None

    after = {b.id: b for b in list_backfills(client, DAG_ID)}[first]
    assert (after.state, after.running) == ("cancelled", False)
    assert with_runs(client, after).runs == {"failed": 2}
    assert running_backfills(client, DAG_ID) == []
    with pytest.raises(BackfillAlreadyCompleted):
        cancel_backfill(client, first)

    second = create(client)
    assert second > first
    assert [b.id for b in running_backfills(client, DAG_ID)] == [second]
    assert with_runs(client, list_backfills(client, DAG_ID, limit=1)[0]).runs == {"queued": 2}
    assert cancel_backfill(client, second).state == "cancelled"
