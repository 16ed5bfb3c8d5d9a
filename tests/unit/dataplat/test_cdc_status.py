"""The CDC figures as ``dataplat status`` prints them and as Prometheus reads them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console

from dataplat.cdc_status import CdcFigures, SlotLag, app_heartbeat, cdc_table, metrics_text
from dataplat.paths import paths_for
from dataplat.settings import Settings


def _render(figures: CdcFigures) -> str:
    console = Console(width=200, record=True)
    console.print(cdc_table(figures, Settings()))
    return console.export_text()


def _figures() -> CdcFigures:
    return CdcFigures(
        connector="RUNNING",
        tasks=["0:RUNNING"],
        slot=SlotLag(active=True, retained_bytes=3 * 1024 * 1024, lag_bytes=512 * 1024),
        app={
            "state": "running",
            "batch_id": 41,
            "dead_letters": 2,
            "commit_lag": {"last_s": 1.5, "p50_s": 2.0, "p95_s": 4.25, "samples": 20},
        },
        app_age_s=3.0,
    )


def test_status_rows_show_connector_slot_and_lag() -> None:
    text = _render(_figures())
    assert "RUNNING (tasks 0:RUNNING)" in text
    assert "lag 0.5 MiB; WAL retained 3.0 MiB" in text
    assert "p95 4.2 s over 20 batches" in text  # 4.25 rounds half to even
    assert "dead letters 2" in text


def test_status_says_what_is_missing() -> None:
    text = _render(CdcFigures(connector="not registered", slot_error="OperationalError: refused"))
    assert "not registered" in text
    assert "OperationalError: refused" in text
    assert "no heartbeat yet" in text


def test_metrics_in_prometheus_text_format() -> None:
    text = metrics_text(_figures(), Settings())
    labels = 'connector="condo-postgres",slot="dataplat_condo"'
    assert f"dataplat_cdc_connector_running{{{labels}}} 1\n" in text
    assert f"dataplat_cdc_slot_lag_bytes{{{labels}}} 524288\n" in text
    assert f'dataplat_cdc_commit_lag_seconds{{{labels},stat="p95"}} 4.25\n' in text
    assert text.count("# TYPE dataplat_cdc_commit_lag_seconds gauge") == 1


def test_a_failed_task_is_not_running() -> None:
    figures = _figures()
    figures.tasks = ["0:FAILED"]
    assert "dataplat_cdc_connector_running" in metrics_text(figures, Settings())
    assert '"} 0\n' in metrics_text(figures, Settings()).split("\n# HELP dataplat_cdc_slot")[0] + "\n"


def test_heartbeat_age(tmp_path: Path) -> None:
    paths = paths_for(Settings(home=tmp_path))
    paths.run.mkdir(parents=True)
    (paths.run / "cdc.heartbeat.json").write_text(json.dumps({"ts": time.time() - 5, "state": "idle"}))
    beat, age = app_heartbeat(paths)
    assert beat["state"] == "idle"
    assert age is not None and 4 < age < 30
