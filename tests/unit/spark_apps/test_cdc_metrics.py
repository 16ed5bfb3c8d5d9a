"""The CDC app's heartbeat file and its table upkeep, without Spark (a fake clock and a fake session)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spark_apps.cdc.batch import BatchReport
from spark_apps.cdc.maintenance import Maintenance, statements
from spark_apps.cdc.metrics import Metrics, percentile


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0


def test_batches_give_commit_lag_counts_and_rates(tmp_path: Path) -> None:
    clock = Clock(datetime(2027, 1, 1, 0, 0, 10, tzinfo=UTC).timestamp())
    beat = tmp_path / "run" / "cdc.heartbeat.json"
    metrics = Metrics(beat, window=3, clock=clock)
    for batch_id, second in enumerate((9, 8, 5, 1)):  # lags 1, 2, 5, 9 s; the window keeps the last 3
        events = {"residents": 10, "dataplat_heartbeat": 1}
        newest = datetime(2027, 1, 1, 0, 0, second)
        report = BatchReport(batch_id, events=events, dead_letters=batch_id % 2, max_source_ts=newest)
        metrics.batch(report, duration_s=2.0)
    data = json.loads(beat.read_text())
    assert data["state"] == "committed" and data["batch_id"] == 3
    assert data["commit_lag"] == {"last_s": 9.0, "p50_s": 5.0, "p95_s": 9.0, "samples": 3}
    assert data["rows"] == {"residents": 10, "dataplat_heartbeat": 1}
    assert data["rows_total"] == {"residents": 40, "dataplat_heartbeat": 4}
    assert (data["dead_letters"], data["dead_letters_last"], data["events_per_s"]) == (2, 1, 5.5)
    clock.now += 20
    metrics.idle()
    data = json.loads(beat.read_text())
    assert data["state"] == "idle" and data["source_age_s"] == 21.0  # newest source commit: second 9


class FakeSpark:
    """Records SQL; fails on the tables named in ``failing``."""

    def __init__(self, failing: set[str] = frozenset(), missing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.sql_seen: list[str] = []
        self.failing, self.missing = failing, missing
        self.catalog = self

    def tableExists(self, name: str) -> bool:
        return name not in self.missing

    def sql(self, text: str) -> Any:
        if any(f"'{table.split('.', 1)[1]}'" in text for table in self.failing):
            raise RuntimeError("commit conflict\nstack")
        self.sql_seen.append(text)
        return self

    def collect(self) -> list[object]:
        return []


def test_upkeep_compacts_and_expires_when_due_and_survives_a_failure() -> None:
    old = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    raw, trusted = (
        statements("iceberg", "iceberg.raw.condo_x_changes", old, False),
        statements("iceberg", "iceberg.trusted.condo_x", old, True),
    )
    assert raw == [
        "CALL iceberg.system.rewrite_data_files(table => 'raw.condo_x_changes', "
        "options => map('min-input-files', '5'))",
        "CALL iceberg.system.expire_snapshots(table => 'raw.condo_x_changes', "
        "older_than => TIMESTAMP '2027-01-01 12:00:00', retain_last => 5)",
    ]
    assert "'delete-file-threshold', '5', 'remove-dangling-deletes', 'true'" in trusted[0]

    clock = Clock(1000.0)
    upkeep = Maintenance("iceberg", interval_min=30, retention_hours=24, clock=clock)
    assert not upkeep.due()
    clock.now += 30 * 60
    assert upkeep.due()
    spark = FakeSpark(failing={"iceberg.raw.b_changes"}, missing={"iceberg.trusted.c"})
    tables = ["iceberg.raw.a_changes", "iceberg.raw.b_changes", "iceberg.trusted.c"]
    result = upkeep.run(spark, tables, merge_on_read=["iceberg.trusted.c"])  # type: ignore[arg-type]
    assert result["failures"] == {"iceberg.raw.b_changes": "RuntimeError: commit conflict"}
    assert len(spark.sql_seen) == 2 and "raw.a_changes" in spark.sql_seen[0]
    assert not upkeep.due() and upkeep.next_at == clock.now + 30 * 60
    assert not Maintenance("iceberg", interval_min=0, retention_hours=1, clock=clock).due()
