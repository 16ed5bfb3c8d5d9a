"""``dataplat bench cdc``'s optional incremental-snapshot step, against a fake source and a fake lake."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dataplat import cli
from dataplat.cdc_source import Signal
from dataplat.load import cdc as workload
from dataplat.load.bench import cdc as bench
from dataplat.settings import Settings

TRUSTED = "iceberg.trusted.condo_transactions"
RAW = "iceberg.raw.condo_transactions_changes"


class World:
    """The source's transactions ids and what the lake shows of them, polled by the step under test."""

    def __init__(self, max_id: int = 500, streamed_after_polls: int = 2, read_after_polls: int = 3) -> None:
        self.max_id, self.loaded = max_id, 0
        self.polls = {"streamed": streamed_after_polls, "read": read_after_polls}
        self.calls: list[tuple[Any, ...]] = []
        self.trino: list[str] = []

    def lake_count(self, what: str) -> int:
        self.polls[what] -= 1
        return self.loaded if self.polls[what] <= 0 else self.loaded // 2


class FakeSource:
    def __init__(self, world: World) -> None:
        self.world = world

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        if sql == "SELECT coalesce(max(id), 0) FROM transactions":
            return self.world.max_id
        assert sql == f"SELECT count(*) FROM transactions WHERE id > {self.world.max_id}", sql
        return self.world.loaded


class FakeLake:
    def __init__(self, world: World) -> None:
        self.world = world

    def scalar(self, sql: str) -> Any:
        self.world.trino.append(sql)
        if sql == "SELECT to_unixtime(current_timestamp)":
            return 1796220000.5
        if sql.startswith(f"SELECT count(*) FROM {TRUSTED} WHERE id > "):
            assert sql.endswith(f"id > {self.world.max_id}")
            return self.world.lake_count("streamed")
        assert sql == (
            f"SELECT count(*) FROM {RAW} WHERE op = 'r' AND snapshot = 'incremental' "
            "AND landed_at >= from_unixtime(1796220000.5)"
        ), sql
        assert any(call[0] == "signal" for call in self.world.calls), "polled the reads before the signal"
        return self.world.lake_count("read")

    def wait(self, check: Callable[[], bool], timeout_s: float) -> float | None:
        """Polls like Lake.wait with a clock of 1 s per poll; None after ``timeout_s`` polls."""
        for polls in range(1, int(timeout_s) + 1):
            if check():
                return float(polls)
        return None


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", cache=tmp_path / "cache")


def fake_stack(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    def bulk_load(params: Any, table: str, n: int, seed_value: int | None = None, **_: Any) -> None:
        world.calls.append(("bulk_load", table, n))
        world.loaded = n

    def request_snapshot(
        settings: Settings, tables: list[str], filters: dict[str, str] | None = None
    ) -> Signal:
        world.calls.append(("signal", tables, filters))
        return Signal("dataplat-test", "execute-snapshot", "{}")

    monkeypatch.setattr(bench, "Lake", lambda settings: FakeLake(world))
    monkeypatch.setattr(bench, "Source", lambda settings: FakeSource(world))
    monkeypatch.setattr(bench, "source_params", lambda settings: {"dbname": "condo"})
    monkeypatch.setattr(bench, "request_snapshot", request_snapshot)
    monkeypatch.setattr(workload, "bulk_load", bulk_load)


def test_the_snapshot_step_loads_rows_lets_them_stream_then_times_a_snapshot_of_just_them(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    world = World(max_id=500, streamed_after_polls=2, read_after_polls=3)
    fake_stack(monkeypatch, world)
    figures = bench.snapshot(settings, 2000, Console(file=io.StringIO()))
    assert world.calls == [
        ("bulk_load", "transactions", 2000),
        ("signal", ["transactions"], {"transactions": "id > 500"}),
    ]
    assert figures == {"rows": 2000, "streamed_s": 2.0, "seconds": 3.0, "rows_per_s": 667}


def test_rows_not_streamed_in_time_are_reported_and_no_snapshot_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    world = World(streamed_after_polls=10**9)
    fake_stack(monkeypatch, world)
    monkeypatch.setattr(bench, "LOAD_TIMEOUT_S", 5.0)
    figures = bench.snapshot(settings, 100, Console(file=io.StringIO()))
    assert figures == {"rows": 100, "streamed_s": None, "seconds": None, "rows_per_s": None}
    assert [call[0] for call in world.calls] == ["bulk_load"]


def test_reads_that_never_land_leave_the_time_empty(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    world = World(read_after_polls=10**9)
    fake_stack(monkeypatch, world)
    monkeypatch.setattr(bench, "LOAD_TIMEOUT_S", 5.0)
    figures = bench.snapshot(settings, 100, Console(file=io.StringIO()))
    assert (figures["seconds"], figures["rows_per_s"]) == (None, None)
    text = _table(bench.Figures(snapshot=figures))
    assert "incremental snapshot 100 rows (signal → raw)" in text and "not in the lake after 5 s" in text


def _table(figures: bench.Figures) -> str:
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(bench.report_table(figures))
    return console.export_text()


def test_the_report_shows_the_snapshot_only_when_it_ran() -> None:
    snapshot = {"rows": 100_000, "streamed_s": 12.0, "seconds": 25.0, "rows_per_s": 4000}
    text = _table(bench.Figures(snapshot=snapshot))
    assert "incremental snapshot 100,000 rows (signal → raw)" in text
    assert "25.0 s (4000 rows/s)" in text
    assert "snapshot" not in _table(bench.Figures())


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The bench's steps replaced by recorders (and its source check by a no-op connection)."""
    ran: list[tuple[Any, ...]] = []

    class Connection:
        def close(self) -> None:
            pass

    class Source:
        def __init__(self, settings: Settings) -> None:
            self.connection = Connection()

    monkeypatch.setattr(bench, "Source", Source)
    monkeypatch.setattr(bench, "freshness", lambda s, samples, console: ran.append(("freshness",)) or {})
    monkeypatch.setattr(
        bench, "sustained", lambda s, rates, step, console: ran.append(("rates", rates)) or []
    )
    monkeypatch.setattr(bench, "bulk", lambda s, rows, console: ran.append(("bulk", rows)) or {})
    monkeypatch.setattr(
        bench, "snapshot", lambda s, rows, console: ran.append(("snapshot", rows)) or {"rows": rows}
    )
    return ran


def test_run_skips_the_snapshot_unless_asked(steps: list[tuple[Any, ...]], settings: Settings) -> None:
    quiet = Console(file=io.StringIO())
    bench.run(settings, samples=1, rates=[100.0], step_s=1.0, bulk_rows=10, console=quiet)
    assert steps == [("freshness",), ("rates", [100.0]), ("bulk", 10)]
    steps.clear()
    figures = bench.run(
        settings, samples=1, rates=[], step_s=1.0, bulk_rows=0, snapshot_rows=50_000, console=quiet
    )
    assert steps == [("freshness",), ("snapshot", 50_000)]
    assert figures.snapshot == {"rows": 50_000}


def test_dataplat_bench_cdc_passes_snapshot_rows_and_saves_the_step(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    def run(settings: Settings, **kwargs: Any) -> bench.Figures:
        seen.append(kwargs)
        return bench.Figures(snapshot={"rows": 7, "streamed_s": 1.0, "seconds": 2.0, "rows_per_s": 4})

    monkeypatch.setattr(bench, "run", run)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(cli, "console", Console(file=io.StringIO(), width=200))
    monkeypatch.setattr("dataplat.load.bench.report.save_report", lambda s, name, data: _save(tmp_path, data))
    runner = CliRunner()
    assert runner.invoke(cli.app, ["bench", "cdc"]).exit_code == 0
    result = runner.invoke(cli.app, ["bench", "cdc", "--snapshot-rows", "7", "--bulk-rows", "0"])
    assert result.exit_code == 0, result.output
    assert [(run["snapshot_rows"], run["bulk_rows"]) for run in seen] == [(0, 1_000_000), (7, 0)]
    assert json.loads((tmp_path / "cdc.json").read_text())["snapshot"]["rows"] == 7
    assert runner.invoke(cli.app, ["bench", "cdc", "--snapshot-rows", "-1"]).exit_code == 2


def _save(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "cdc.json"
    path.write_text(json.dumps(data))
    return path
