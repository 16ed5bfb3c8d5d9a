"""Backfills against a fake Airflow API: listing, runs by state, 409 and 500 on create, cancel."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest

from dataplat import backfill as bf
from dataplat.airflow_rest import AirflowApiError, api_message
from dataplat.settings import Settings

from .airflow_fake import NOW, FakeAirflow

NOV10 = date(2026, 11, 10)


@pytest.fixture
def fake() -> FakeAirflow:
    return FakeAirflow()


def test_list_parses_backfills_newest_first_and_asks_for_the_dag(fake: FakeAirflow) -> None:
    fake.add("insights", date(2026, 10, 1), 2, completed=True, paused=True)
    fake.add("insights", NOV10, 7)
    fake.add("other", NOV10, 1)
    with fake.client() as client:
        found = bf.list_backfills(client, "insights")
    assert [b.id for b in found] == [2, 1]
    assert found[0] == bf.Backfill(
        2, "insights", "2026-11-10T00:00:00Z", "2026-11-16T00:00:00Z", NOW, None, False
    )
    assert [b.state for b in found] == ["running", "cancelled"]
    assert found[0].days == "2026-11-10..2026-11-16"
    assert fake.calls[0] == ("GET", "/backfills", {"dag_id": "insights", "order_by": "-id", "limit": "20"})


@pytest.mark.parametrize(
    ("completed", "paused", "state"),
    [
        (False, False, "running"),
        (False, True, "paused"),
        (True, False, "completed"),
        (True, True, "cancelled"),
    ],
)
def test_state_from_completed_and_paused(completed: bool, paused: bool, state: str) -> None:
    b = bf.Backfill(1, "d", "a", "b", NOW, NOW if completed else None, paused)
    assert (b.state, b.running) == (state, not completed)


def test_runs_by_state_reads_every_page(fake: FakeAirflow) -> None:
    fake.add("insights", date(2026, 1, 1), 150)  # more than Airflow's page cap of 100
    with fake.client() as client:
        (listed,) = bf.list_backfills(client, "insights")
        counted = bf.with_runs(client, listed)
    assert counted.runs == {"queued": 150}
    runs_calls = [params for _, path, params in fake.calls if path.endswith("/dagRuns")]
    assert [c["offset"] for c in runs_calls] == ["0", "100"]
    assert runs_calls[0]["run_type"] == "backfill"
    assert (runs_calls[0]["logical_date_gte"], runs_calls[0]["logical_date_lte"]) == (
        "2026-01-01T00:00:00Z",
        "2026-05-30T00:00:00Z",
    )


def test_409_names_the_running_backfill_and_what_to_do(fake: FakeAirflow) -> None:
    fake.add("insights", NOV10, 7)
    with fake.client() as client, pytest.raises(bf.BackfillAlreadyRunning) as caught:
        bf.create_backfill(client, "insights", NOV10, date(2026, 11, 11), {})
    error = caught.value
    assert [b.id for b in error.running] == [1]
    message = str(error)
    assert "already a running backfill for dag insights: 1 (2026-11-10..2026-11-16" in message
    assert "`dataplat backfill list insights`" in message
    assert "`dataplat backfill cancel 1`" in message


def test_another_409_is_not_mistaken_for_a_running_backfill(fake: FakeAirflow) -> None:
    fake.fail_create = httpx.Response(409, json={"detail": {"reason": "Unique constraint violation"}})
    with fake.client() as client, pytest.raises(AirflowApiError, match="409: Unique constraint violation"):
        bf.create_backfill(client, "insights", NOV10, NOV10, {})


def test_500_on_create_carries_airflows_message_and_what_to_do(fake: FakeAirflow) -> None:
    fake.fail_create = httpx.Response(500, text="Internal Server Error")
    with fake.client() as client, pytest.raises(AirflowApiError) as caught:
        bf.create_backfill(client, "insights", NOV10, NOV10, {})
    assert (caught.value.status, caught.value.message) == (500, "Internal Server Error")
    assert "`dataplat backfill list insights`" in caught.value.hint
    assert "`dataplat logs airflow-api`" in caught.value.hint


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, json={"detail": "database is locked"}), "database is locked"),
        (httpx.Response(422, json={"detail": [{"loc": ["body"], "msg": "bad date"}]}), "bad date"),
        (httpx.Response(409, json={"detail": {"message": "see log id X"}}), "see log id X"),
        (httpx.Response(502, text=""), "Bad Gateway"),
    ],
)
def test_api_message(response: httpx.Response, message: str) -> None:
    assert api_message(response) == message


def test_cancel_calls_put_cancel_and_fails_queued_runs(fake: FakeAirflow) -> None:
    fake.add("insights", NOV10, 3)
    with fake.client() as client:
        cancelled = bf.with_runs(client, bf.cancel_backfill(client, 1))
        assert ("PUT", "/backfills/1/cancel", {}) in fake.calls
        assert (cancelled.state, cancelled.runs) == ("cancelled", {"failed": 3})
        with pytest.raises(bf.BackfillAlreadyCompleted, match="backfill 1 of insights is already cancelled"):
            bf.cancel_backfill(client, 1)
        with pytest.raises(AirflowApiError, match=r"404: Could not find backfill with id 9.*backfill list"):
            bf.cancel_backfill(client, 9)


def test_cancel_running_cancels_only_running_ones_and_then_create_works(fake: FakeAirflow) -> None:
    fake.add("insights", date(2026, 10, 1), 1, completed=True)
    fake.add("insights", NOV10, 2)
    with fake.client() as client:
        assert [b.id for b in bf.cancel_running(client, "insights")] == [2]
        assert bf.cancel_running(client, "insights") == []
        assert bf.create_backfill(client, "insights", NOV10, NOV10, {}).id == 3


def test_run_backfill_unpauses_waits_and_pauses_again(
    fake: FakeAirflow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake.run_state = "success"
    monkeypatch.setattr(bf, "airflow_client", lambda _settings: fake.client())
    result = bf.run_backfill(Settings(home=tmp_path), "insights", NOV10, date(2026, 11, 12), {"count": 5})
    assert result.ok and result.unpaused and result.backfill_id == 1
    assert sorted(result.runs) == ["2026-11-10", "2026-11-11", "2026-11-12"]
    assert fake.pause_history == [False, True]


def test_run_backfill_reports_the_running_one(
    fake: FakeAirflow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake.add("insights", NOV10, 1)
    monkeypatch.setattr(bf, "airflow_client", lambda _settings: fake.client())
    with pytest.raises(bf.BackfillAlreadyRunning, match="cancel 1"):
        bf.run_backfill(Settings(home=tmp_path), "insights", NOV10, NOV10, {})
    assert fake.pause_history == []  # refused before anything was unpaused
