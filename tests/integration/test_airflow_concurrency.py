"""Airflow on PostgreSQL with concurrent writers: no 5xx.

On SQLite, ``POST /api/v2/backfills`` answered 500 ("database is locked") while the scheduler and
other clients wrote, and left a half-made backfill that blocked every later one. Here, while the
scheduler runs backfills and a manually triggered run (LocalExecutor tasks writing their states),
two clients race to create backfills of the DAG and four more read and write through the API all
along: every answer is 200 or 409, never a 5xx. Airflow 3.1 allows one running backfill per DAG,
but checks it without a lock (``_create_backfill`` counts, then inserts), so two requests in the
same instant may both be created; a create made while one runs is refused with 409. Every backfill
created finishes with all its runs successful. Backfills left running are cancelled.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from dataplat.airflow_rest import airflow_client
from dataplat.backfill import is_paused, set_paused
from dataplat.runtime import Stack
from dataplat.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAG = "insights"
CONF = {
    "count": 300,
    "seed": 5,
    "database": "it_concurrency",
    "raw_root": "/lake/raw/it_concurrency/insights",
}
RANGES = ((dt.date(2026, 10, 1), dt.date(2026, 10, 3)), (dt.date(2026, 10, 5), dt.date(2026, 10, 6)))
MANUAL_DAY = dt.date(2026, 10, 9)
READERS = 4
TIMEOUT_S = 1800.0
DONE = {"success", "failed"}


@dataclass
class Calls:
    """Every API answer's status, and the 5xx ones in full (thread-safe)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0
    server_errors: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response) -> httpx.Response:
        with self.lock:
            self.count += 1
            if response.status_code >= 500:
                request = response.request
                self.server_errors.append(
                    f"{request.method} {request.url.path} -> {response.status_code}: {response.text[:300]}"
                )
        return response


def _day(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def hammer(settings: Settings, calls: Calls, stop: threading.Event) -> None:
    """Reads and writes through the API until ``stop``: the load other clients put on the database."""
    with airflow_client(settings) as client:
        while not stop.is_set():
            key = f"it_concurrency_{uuid.uuid4().hex[:12]}"
            try:
                calls.record(client.get(f"/dags/{DAG}/dagRuns", params={"limit": 50}))
                calls.record(client.get("/backfills", params={"dag_id": DAG}))
                calls.record(client.get(f"/dags/{DAG}/dagRuns/~/taskInstances", params={"limit": 100}))
                calls.record(client.get("/monitor/health"))
                calls.record(client.post("/variables", json={"key": key, "value": "load"}))
                calls.record(client.delete(f"/variables/{key}"))
            except httpx.HTTPError as error:  # a hung or dropped request is a failure too
                with calls.lock:
                    calls.server_errors.append(f"{type(error).__name__}: {error}")


def create_backfill(settings: Settings, calls: Calls, start: dt.date, end: dt.date) -> httpx.Response:
    body = {
        "dag_id": DAG, "from_date": _day(start), "to_date": _day(end), "dag_run_conf": CONF,
        "max_active_runs": 2, "reprocess_behavior": "completed",
    }  # fmt: skip
    with airflow_client(settings) as client:
        return calls.record(client.post("/backfills", json=body))


def days_of(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def backfill_states(client: httpx.Client, start: dt.date, end: dt.date) -> dict[str, str]:
    """Day -> state of the DAG's backfill runs in [start, end]."""
    runs = (
        client.get(
            f"/dags/{DAG}/dagRuns",
            params={
                "run_type": "backfill",
                "logical_date_gte": _day(start),
                "logical_date_lte": _day(end),
                "limit": 100,
            },
        )
        .raise_for_status()
        .json()["dag_runs"]
    )
    return {run["logical_date"][:10]: run["state"] for run in runs}


def active_backfills(client: httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/backfills", params={"dag_id": DAG}).raise_for_status().json()
    return [b for b in answer["backfills"] if not b["completed_at"]]


@pytest.fixture
def unpaused(stack: Stack, settings: Settings) -> Iterator[None]:
    """The DAG unpaused (the scheduler runs backfills of unpaused DAGs only); afterwards every
    backfill it left running is cancelled and the DAG paused as it was."""
    with airflow_client(settings) as client:
        was_paused = is_paused(client, DAG)
        set_paused(client, DAG, False)
    yield
    with airflow_client(settings) as client:
        for backfill in active_backfills(client):
            client.put(f"/backfills/{backfill['id']}/cancel")
        if was_paused:
            set_paused(client, DAG, True)


def test_scheduler_backfills_and_api_clients_at_once_never_5xx(unpaused: None, settings: Settings) -> None:
    calls, stop = Calls(), threading.Event()
    readers = [
        threading.Thread(target=hammer, args=(settings, calls, stop), daemon=True) for _ in range(READERS)
    ]
    for reader in readers:
        reader.start()
    try:
        with ThreadPoolExecutor(len(RANGES)) as pool:
            answers = list(pool.map(lambda r: create_backfill(settings, calls, *r), RANGES))
        texts = [f"{a.status_code} {a.text[:300]}" for a in answers]
        assert {a.status_code for a in answers} <= {200, 409}, texts
        created = {
            a.json()["id"]: span for a, span in zip(answers, RANGES, strict=True) if a.status_code == 200
        }
        assert created, texts
        refused = create_backfill(settings, calls, *RANGES[0])
        assert refused.status_code == 409, (
            f"a create while a backfill runs: {refused.status_code} {refused.text}"
        )
        with airflow_client(settings) as client:
            manual = calls.record(
                client.post(f"/dags/{DAG}/dagRuns", json={"logical_date": _day(MANUAL_DAY), "conf": CONF})
            )
            assert manual.status_code == 200, manual.text
            manual_id = manual.json()["dag_run_id"]
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                states = {
                    day: state
                    for span in created.values()
                    for day, state in backfill_states(client, *span).items()
                }
                finished = [
                    client.get(f"/backfills/{i}").raise_for_status().json()["completed_at"] for i in created
                ]
                manual_state = (
                    client.get(f"/dags/{DAG}/dagRuns/{manual_id}").raise_for_status().json()["state"]
                )
                if all(finished) and set(states.values()) <= DONE and manual_state in DONE:
                    break
                assert time.monotonic() < deadline, f"not finished: backfills {states}, manual {manual_state}"
                time.sleep(5)
        expected = {
            day.isoformat(): "success" for start, end in created.values() for day in days_of(start, end)
        }
        assert states == expected
        assert manual_state == "success"
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    assert calls.count > 100, f"only {calls.count} API calls made: the load was not there"
    assert not calls.server_errors, "\n".join(calls.server_errors[:20])
