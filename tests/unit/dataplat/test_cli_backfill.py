"""``dataplat backfill`` (run by default, list, cancel) against a fake Airflow: what the user reads."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from dataplat import airflow_rest, cli
from dataplat import backfill as bf
from dataplat.settings import Settings

from .airflow_fake import FakeAirflow


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAirflow:
    fake = FakeAirflow()
    monkeypatch.setattr(airflow_rest, "airflow_client", lambda _settings: fake.client())
    monkeypatch.setattr(bf, "airflow_client", lambda _settings: fake.client())
    monkeypatch.setattr(
        cli, "get_settings", lambda: Settings(home=tmp_path / "home", cache=tmp_path / "cache")
    )
    return fake


@pytest.fixture
def out(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    text = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=text, width=250))
    return text


def dataplat(*args: str) -> int:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code


def test_the_short_form_still_runs_a_backfill(
    fake: FakeAirflow, out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def run_backfill(_settings: Settings, dag_id: str, *args: Any, **kwargs: Any) -> bf.BackfillResult:
        seen.update(dag_id=dag_id, args=args, kwargs=kwargs)
        return bf.BackfillResult(4, dag_id, {"2026-11-10": "success"})

    monkeypatch.setattr(bf, "run_backfill", run_backfill)
    argv = ["insights", "2026-11-10", "2026-11-10", "--conf", '{"count": 50000}', "--max-active-runs", "3"]
    assert dataplat("backfill", *argv) == 0
    assert seen["args"] == (date(2026, 11, 10), date(2026, 11, 10), {"count": 50000})
    assert seen["kwargs"]["max_active_runs"] == 3
    assert "backfill 4 of insights" in out.getvalue()
    assert dataplat("backfill", "run", *argv) == 0


def test_a_running_backfill_is_reported_with_what_to_do(fake: FakeAirflow, out: io.StringIO) -> None:
    fake.add("insights", date(2026, 11, 1), 2)
    assert dataplat("backfill", "insights", "2026-11-10", "2026-11-16") == 1
    text = " ".join(out.getvalue().split())
    assert "error:" in text and "Traceback" not in text
    assert "already a running backfill for dag insights" in text
    assert "`dataplat backfill list insights`" in text and "`dataplat backfill cancel 1`" in text


def test_a_500_is_reported_with_airflows_message(fake: FakeAirflow, out: io.StringIO) -> None:
    fake.fail_create = httpx.Response(500, json={"detail": "database is locked"})
    assert dataplat("backfill", "insights", "2026-11-10", "2026-11-16") == 1
    text = " ".join(out.getvalue().split())
    assert "Airflow answered 500: database is locked" in text
    assert "`dataplat backfill list insights`" in text and "`dataplat logs airflow-api`" in text


def test_list_shows_a_table_and_how_to_stop_the_running_one(fake: FakeAirflow, out: io.StringIO) -> None:
    fake.add("insights", date(2026, 10, 1), 2, completed=True, paused=True)
    fake.add("insights", date(2026, 11, 10), 7)
    assert dataplat("backfill", "list", "insights") == 0
    text = out.getvalue()
    assert text.index("2026-11-16") < text.index("2026-10-02")  # newest first
    assert "running" in text and "queued 7" in text and "cancelled" in text and "queued 2" in text
    assert "`dataplat backfill cancel 2` stops it" in text
    assert "the DAG is paused" in text


def test_list_running_only_and_empty(fake: FakeAirflow, out: io.StringIO) -> None:
    fake.add("insights", date(2026, 10, 1), 2, completed=True)
    assert dataplat("backfill", "list", "insights", "--running") == 0
    assert "no running backfill of insights" in out.getvalue()


def test_cancel_then_cancel_again(fake: FakeAirflow, out: io.StringIO) -> None:
    fake.add("insights", date(2026, 11, 10), 3)
    assert dataplat("backfill", "cancel", "1") == 0
    assert dataplat("backfill", "cancel", "1") == 0
    assert dataplat("backfill", "cancel", "9") == 1
    text = out.getvalue()
    assert "cancelled backfill 1 of insights (2026-11-10..2026-11-12)" in text
    assert "backfill 1 of insights is already cancelled; nothing to cancel" in text
    assert "Could not find backfill with id 9" in text


def test_airflow_not_answering(fake: FakeAirflow, out: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_settings: Settings) -> httpx.Client:
        raise httpx.ConnectError("Connection refused")

    monkeypatch.setattr(airflow_rest, "airflow_client", refuse)
    assert dataplat("backfill", "list", "insights") == 1
    assert "Airflow does not answer at" in out.getvalue() and "`dataplat status`" in out.getvalue()
