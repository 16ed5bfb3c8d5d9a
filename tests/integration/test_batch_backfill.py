"""A week of the insights DAG through Airflow 3's backfill, run by the real scheduler.

The backfill (REST ``/api/v2/backfills``, what ``dataplat backfill`` does) writes its own database;
every day must land as its own partition with exactly the source's records, and the DAG must be
paused again afterwards (other tests run it with ``airflow dags test``), with no backfill left running
(Airflow refuses a new backfill of a DAG while one runs; tests/integration/conftest.py cancels leftovers).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from dataplat.airflow_rest import airflow_client
from dataplat.backfill import BackfillResult, get_backfill, is_paused, run_backfill, running_backfills
from dataplat.runtime import Stack
from dataplat.settings import Settings
from tests.integration.test_batch_pipeline import query, source_records

DB = "it_backfill"
COUNT, SEED = 800, 31
FIRST, LAST = dt.date(2026, 11, 10), dt.date(2026, 11, 16)
DAYS = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(7)]


@pytest.fixture(scope="module")
def week(stack: Stack, settings: Settings) -> BackfillResult:
    conf = {"count": COUNT, "seed": SEED, "database": DB, "raw_root": f"/lake/raw/{DB}/insights"}
    return run_backfill(settings, "insights", FIRST, LAST, conf, max_active_runs=3, timeout_s=1800)


def test_every_day_of_the_week_ran_as_a_backfill_run(week: BackfillResult) -> None:
    assert week.runs == dict.fromkeys(DAYS, "success"), week


def test_seven_partitions_with_the_source_totals(week: BackfillResult, settings: Settings) -> None:
    rows = query(settings, f"SELECT CAST(date AS varchar), count(*) FROM {DB}.insights GROUP BY 1")
    assert dict(rows) == dict.fromkeys(DAYS, COUNT)
    grouped = query(settings, f"SELECT CAST(date AS varchar), event_name, events FROM {DB}.grouped_insights")
    for day in DAYS:
        expected = Counter(
            record["event_name"] for record in source_records(settings, day, count=COUNT, seed=SEED)
        )
        assert {name: events for d, name, events in grouped if d == day} == dict(expected), day


def test_the_dag_is_paused_again(week: BackfillResult, settings: Settings) -> None:
    with airflow_client(settings) as client:
        assert is_paused(client, "insights")


def test_the_backfill_completed_and_none_is_left_running(week: BackfillResult, settings: Settings) -> None:
    with airflow_client(settings) as client:
        assert get_backfill(client, week.backfill_id).state == "completed"
        assert running_backfills(client, "insights") == []
