"""Backfill a DAG over a range of days with Airflow 3's own backfill (REST ``/api/v2/backfills``),
list a DAG's backfills and cancel one.

Airflow's scheduler runs backfill runs only while the DAG is unpaused, so a paused DAG is unpaused
for the backfill and, once every run of it has finished, paused again (the DAG's daily run that
unpausing schedules finishes first). Progress is read back from the REST API.

Airflow keeps one backfill per DAG running (not completed) at a time: a second one is refused with
409, raised here as :class:`BackfillAlreadyRunning` naming the running one. Cancelling
(``PUT /backfills/{id}/cancel``) pauses the backfill, fails its queued runs and marks it completed at
once; runs already running finish on their own.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from dataplat.airflow_rest import airflow_client, api_message, checked
from dataplat.errors import DataplatError
from dataplat.settings import Settings

DONE = {"success", "failed"}
POLL_S = 3.0
ALREADY_RUNNING = "already a running backfill"  # Airflow's 409 on create
ALREADY_COMPLETED = "already completed"  # Airflow's 409 on cancel


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


@dataclass(frozen=True)
class Backfill:
    """One of Airflow's backfills (times as Airflow's ISO text) and, when asked for, its runs by state."""

    id: int
    dag_id: str
    from_date: str
    to_date: str
    created_at: str
    completed_at: str | None
    is_paused: bool
    runs: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Backfill:
        return cls(
            id=int(item["id"]),
            dag_id=str(item["dag_id"]),
            from_date=str(item["from_date"]),
            to_date=str(item["to_date"]),
            created_at=str(item["created_at"]),
            completed_at=item.get("completed_at"),
            is_paused=bool(item["is_paused"]),
        )

    @property
    def running(self) -> bool:
        """Not completed: Airflow refuses another backfill of the DAG meanwhile."""
        return self.completed_at is None

    @property
    def state(self) -> str:
        """running, paused, completed or cancelled (a cancel pauses it, then completes it)."""
        if self.running:
            return "paused" if self.is_paused else "running"
        return "cancelled" if self.is_paused else "completed"

    @property
    def days(self) -> str:
        return f"{self.from_date[:10]}..{self.to_date[:10]}"


class BackfillTimeout(DataplatError):
    """The runs did not finish in time (they keep going in Airflow)."""


class BackfillAlreadyRunning(DataplatError):
    """Airflow refused a new backfill: one of the DAG's is still running (listed in ``running``)."""

    def __init__(self, dag_id: str, running: list[Backfill]) -> None:
        self.dag_id, self.running = dag_id, running
        which = ", ".join(
            f"{b.id} ({b.days}, created {b.created_at[:16].replace('T', ' ')} UTC)" for b in running
        )
        stop = f"`dataplat backfill cancel {running[0].id}`" if running else "`dataplat backfill cancel ID`"
        super().__init__(
            f"there is already a running backfill for dag {dag_id}{': ' + which if which else ''} "
            f"(Airflow runs one backfill per DAG at a time); see it with `dataplat backfill list {dag_id}`, "
            f"stop it with {stop} (its queued runs fail, running ones finish), then run this again"
        )


class BackfillAlreadyCompleted(DataplatError):
    """Nothing to cancel: the backfill has completed (or was cancelled before)."""

    def __init__(self, backfill: Backfill) -> None:
        self.backfill = backfill
        super().__init__(f"backfill {backfill.id} of {backfill.dag_id} is already {backfill.state}")


def _day_bound(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _all_pages(client: httpx.Client, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a list endpoint (Airflow caps ``limit`` at its ``maximum_page_limit``, 100)."""
    items: list[dict[str, Any]] = []
    while True:
        page = checked(client.get(path, params={**params, "offset": len(items)})).json()
        items += page[key]
        if not page[key] or len(items) >= int(page["total_entries"]):
            return items


def is_paused(client: httpx.Client, dag_id: str) -> bool:
    return bool(checked(client.get(f"/dags/{dag_id}")).json()["is_paused"])


def set_paused(client: httpx.Client, dag_id: str, paused: bool) -> None:
    checked(client.patch(f"/dags/{dag_id}", json={"is_paused": paused}))


def _runs_between(client: httpx.Client, dag_id: str, first: str, last: str) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "run_type": "backfill",
        "logical_date_gte": first,
        "logical_date_lte": last,
        "limit": 100,
    }
    return _all_pages(client, f"/dags/{dag_id}/dagRuns", "dag_runs", params)


def backfill_runs(client: httpx.Client, dag_id: str, start: date, end: date) -> dict[str, str]:
    """State of each backfill run with a logical date in ``[start, end]``."""
    runs = _runs_between(client, dag_id, _day_bound(start), _day_bound(end))
    return {run["logical_date"][:10]: run["state"] for run in runs}


def active_runs(client: httpx.Client, dag_id: str) -> int:
    params: Any = [("state", "queued"), ("state", "running"), ("limit", 1)]
    return int(checked(client.get(f"/dags/{dag_id}/dagRuns", params=params)).json()["total_entries"])


def list_backfills(client: httpx.Client, dag_id: str, *, limit: int = 20) -> list[Backfill]:
    """The DAG's latest ``limit`` backfills (at most 100), newest first."""
    params: dict[str, Any] = {"dag_id": dag_id, "order_by": "-id", "limit": limit}
    answer = checked(client.get("/backfills", params=params)).json()
    return [Backfill.from_api(item) for item in answer["backfills"]]


def running_backfills(client: httpx.Client, dag_id: str) -> list[Backfill]:
    """The DAG's backfills not completed yet (Airflow allows one; it is among the newest)."""
    return [b for b in list_backfills(client, dag_id, limit=100) if b.running]


def get_backfill(client: httpx.Client, backfill_id: int) -> Backfill:
    hint = "`dataplat backfill list DAG` shows the ids"
    return Backfill.from_api(checked(client.get(f"/backfills/{backfill_id}"), hint).json())


def with_runs(client: httpx.Client, backfill: Backfill) -> Backfill:
    """``backfill`` with its runs counted by state.

    Airflow's run list has no backfill filter: these are the DAG's backfill runs with a logical date
    in the backfill's range, so a day that a later backfill ran again counts in its latest state.
    """
    runs = _runs_between(client, backfill.dag_id, backfill.from_date, backfill.to_date)
    return dataclasses.replace(backfill, runs=dict(Counter(run["state"] for run in runs)))


def create_backfill(
    client: httpx.Client,
    dag_id: str,
    start: date,
    end: date,
    conf: dict[str, Any],
    *,
    max_active_runs: int = 2,
    reprocess: str = "completed",
) -> Backfill:
    """Ask Airflow for one run per day in ``[start, end]``; the scheduler runs them (DAG unpaused)."""
    body = {
        "dag_id": dag_id,
        "from_date": _day_bound(start),
        "to_date": _day_bound(end),
        "dag_run_conf": conf,
        "max_active_runs": max_active_runs,
        "reprocess_behavior": reprocess,
    }
    answer = client.post("/backfills", json=body)
    if answer.status_code == 409 and ALREADY_RUNNING in api_message(answer):
        raise BackfillAlreadyRunning(dag_id, running_backfills(client, dag_id))
    hint = ""
    if answer.status_code >= 500:  # Airflow stores the backfill before its runs: it may exist
        hint = (
            f"the backfill may have been recorded anyway: `dataplat backfill list {dag_id}` shows it, "
            "`dataplat backfill cancel ID` stops it; why it failed is in `dataplat logs airflow-api`"
        )
    return Backfill.from_api(checked(answer, hint).json())


def cancel_backfill(client: httpx.Client, backfill_id: int) -> Backfill:
    """Cancel a running backfill: paused, its queued runs failed, completed now."""
    answer = client.put(f"/backfills/{backfill_id}/cancel")
    if answer.status_code == 409 and ALREADY_COMPLETED in api_message(answer):
        raise BackfillAlreadyCompleted(get_backfill(client, backfill_id))
    hint = "`dataplat backfill list DAG` shows the ids" if answer.status_code == 404 else ""
    return Backfill.from_api(checked(answer, hint).json())


def cancel_running(client: httpx.Client, dag_id: str) -> list[Backfill]:
    """Cancel every running backfill of the DAG; the ones cancelled (one that completed meanwhile is not)."""
    cancelled = []
    for backfill in running_backfills(client, dag_id):
        try:
            cancelled.append(cancel_backfill(client, backfill.id))
        except BackfillAlreadyCompleted:
            continue
    return cancelled


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
        created = create_backfill(
            client, dag_id, start, end, conf, max_active_runs=max_active_runs, reprocess=reprocess
        )
        result = BackfillResult(created.id, dag_id, unpaused=was_paused)
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
        if not get_backfill(client, result.backfill_id).running and all(
            state in DONE for state in result.runs.values()
        ):
            return
        if time.monotonic() > deadline:
            raise BackfillTimeout(
                f"backfill {result.backfill_id} not finished: {result.runs}; it keeps running in Airflow: "
                f"`dataplat backfill list {result.dag_id}` shows it, "
                f"`dataplat backfill cancel {result.backfill_id}` stops it"
            )
        time.sleep(POLL_S)


def _wait_idle(client: httpx.Client, dag_id: str, deadline: float) -> None:
    """Until no run of the DAG is queued or running (bounded: pausing leaves runs stranded)."""
    while active_runs(client, dag_id) and time.monotonic() < deadline:
        time.sleep(POLL_S)
