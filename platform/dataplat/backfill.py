"""Backfill a DAG over a range of days with Airflow 3's own backfill (REST ``/api/v2/backfills``).

Airflow's scheduler runs backfill runs only while the DAG is unpaused, so a paused DAG is unpaused
for the backfill and, once every run of it has finished, paused again (the DAG's daily run that
unpausing schedules finishes first). Progress is read back from the REST API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from dataplat.airflow_rest import airflow_client
from dataplat.settings import Settings

DONE = {"success", "failed"}
POLL_S = 3.0


@dataclass
class BackfillResult:
    backfill_id: int
    dag_id: str
    runs: dict[str, str] = field(default_factory=dict)  # logical date -> run state
    wall_s: float = 0.0
    unpaused: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(state == "success" for state in self.runs.values())


class BackfillTimeout(RuntimeError):
    """The runs did not finish in time (they keep going in Airflow)."""


def _day_bound(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def is_paused(client: httpx.Client, dag_id: str) -> bool:
    return bool(client.get(f"/dags/{dag_id}").raise_for_status().json()["is_paused"])


def set_paused(client: httpx.Client, dag_id: str, paused: bool) -> None:
    client.patch(f"/dags/{dag_id}", json={"is_paused": paused}).raise_for_status()


def backfill_runs(client: httpx.Client, dag_id: str, start: date, end: date) -> dict[str, str]:
    """State of each backfill run with a logical date in ``[start, end]``."""
    params = {
        "run_type": "backfill",
        "logical_date_gte": _day_bound(start),
        "logical_date_lte": _day_bound(end),
        "limit": 1000,
    }
    runs = client.get(f"/dags/{dag_id}/dagRuns", params=params).raise_for_status().json()["dag_runs"]
    return {run["logical_date"][:10]: run["state"] for run in runs}


def active_runs(client: httpx.Client, dag_id: str) -> int:
    params: Any = [("state", "queued"), ("state", "running"), ("limit", 1)]
    answer = client.get(f"/dags/{dag_id}/dagRuns", params=params).raise_for_status()
    return int(answer.json()["total_entries"])


def run_backfill(
    settings: Settings,
    dag_id: str,
    start: date,
    end: date,
    conf: dict[str, Any],
    *,
    max_active_runs: int = 2,
    reprocess: str = "completed",
    timeout_s: float = 3600,
    on_progress: Callable[[dict[str, str]], None] | None = None,
) -> BackfillResult:
    """Create the backfill, wait until all its runs finished, restore the DAG's paused state."""
    started = time.monotonic()
    with airflow_client(settings) as client:
        was_paused = is_paused(client, dag_id)
        body = {
            "dag_id": dag_id,
            "from_date": _day_bound(start),
            "to_date": _day_bound(end),
            "dag_run_conf": conf,
            "max_active_runs": max_active_runs,
            "reprocess_behavior": reprocess,
        }
        created = client.post("/backfills", json=body)
        if created.status_code >= 400:
            raise RuntimeError(f"Airflow refused the backfill ({created.status_code}): {created.text}")
        result = BackfillResult(int(created.json()["id"]), dag_id, unpaused=was_paused)
        if was_paused:
            set_paused(client, dag_id, False)
        try:
            _wait(client, result, start, end, started + timeout_s, on_progress)
        finally:
            if was_paused:
                _wait_idle(client, dag_id, started + timeout_s)
                set_paused(client, dag_id, True)
    result.wall_s = time.monotonic() - started
    return result


def _wait(
    client: httpx.Client,
    result: BackfillResult,
    start: date,
    end: date,
    deadline: float,
    on_progress: Callable[[dict[str, str]], None] | None,
) -> None:
    while True:
        result.runs = backfill_runs(client, result.dag_id, start, end)
        if on_progress:
            on_progress(result.runs)
        backfill = client.get(f"/backfills/{result.backfill_id}").raise_for_status().json()
        if backfill["completed_at"] and all(state in DONE for state in result.runs.values()):
            return
        if time.monotonic() > deadline:
            raise BackfillTimeout(f"backfill {result.backfill_id} not finished: {result.runs}")
        time.sleep(POLL_S)


def _wait_idle(client: httpx.Client, dag_id: str, deadline: float) -> None:
    """Until no run of the DAG is queued or running (bounded: pausing leaves runs stranded)."""
    while active_runs(client, dag_id) and time.monotonic() < deadline:
        time.sleep(POLL_S)
