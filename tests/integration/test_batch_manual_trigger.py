"""A manual run of the insights DAG for a day long before the DAG was written, triggered through the
REST API with a logical date (what the UI's "Trigger DAG" does), runs every task and loads that day.

Airflow creates no task instance for tasks whose start_date is after the run's logical date; such a
run used to end in ``success`` having loaded nothing. The scheduler starts manual runs only while
the DAG is unpaused: a paused DAG is unpaused for the test and paused again once no run of it is
active (unpausing also schedules the latest daily run, which writes the default database).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from dataplat.airflow_rest import airflow_client
from dataplat.backfill import active_runs, is_paused, set_paused
from dataplat.load.bench.batch import TASK_ORDER, TaskResult, task_results
from dataplat.runtime import Stack
from dataplat.settings import Settings
from tests.integration.test_batch_pipeline import query, source_records

DAG_ID = "insights"
DB = "it_manual"
# a day before any start_date the DAG ever had; Airflow keeps one run per logical date, so a rerun of
# the suite on the same stack takes another day
DAY = (dt.date(2000, 1, 1) + dt.timedelta(days=random.randrange(7300))).isoformat()
COUNT, SEED = 1_200, 7
TIMEOUT_S = 1200


def wait(until: Any, what: str, deadline: float) -> None:
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {TIMEOUT_S} s")
        time.sleep(3)


@pytest.fixture(scope="module")
def manual_run(stack: Stack, settings: Settings) -> tuple[str | None, dict[str, TaskResult]]:
    run_id = f"it_manual__{uuid.uuid4().hex[:8]}"
    conf = {"count": COUNT, "seed": SEED, "database": DB, "raw_root": f"/lake/raw/{DB}/insights"}
    body = {"dag_run_id": run_id, "logical_date": f"{DAY}T00:00:00Z", "conf": conf}
    deadline = time.monotonic() + TIMEOUT_S
    with airflow_client(settings) as client:
        was_paused = is_paused(client, DAG_ID)
        client.post(f"/dags/{DAG_ID}/dagRuns", json=body).raise_for_status()
        if was_paused:
            set_paused(client, DAG_ID, False)
        try:

            def finished() -> bool:
                run = client.get(f"/dags/{DAG_ID}/dagRuns/{run_id}").raise_for_status().json()
                return run["state"] in {"success", "failed"}

            wait(finished, f"run {run_id} not finished", deadline)
        finally:
            if was_paused:
                wait(lambda: not active_runs(client, DAG_ID), "runs still active", deadline)
                set_paused(client, DAG_ID, True)
    return task_results(settings, run_id)


def test_every_task_ran_and_succeeded(manual_run: tuple[str | None, dict[str, TaskResult]]) -> None:
    state, tasks = manual_run
    assert set(tasks) == set(TASK_ORDER), f"tasks scheduled: {sorted(tasks)}"
    assert {name: task.state for name, task in tasks.items()} == dict.fromkeys(TASK_ORDER, "success")
    assert state == "success"


def test_the_day_landed_with_the_source_records(
    manual_run: tuple[str | None, dict[str, TaskResult]], settings: Settings
) -> None:
    on_day = f"\"date\" = DATE '{DAY}'"
    assert query(settings, f"SELECT count(*) FROM insights WHERE {on_day}", DB) == [[COUNT]]
    grouped = query(settings, f"SELECT event_name, events FROM grouped_insights WHERE {on_day}", DB)
    expected = Counter(r["event_name"] for r in source_records(settings, DAY, count=COUNT, seed=SEED))
    assert dict(grouped) == dict(expected)
