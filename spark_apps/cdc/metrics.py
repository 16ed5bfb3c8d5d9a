"""The app's heartbeat file (``--heartbeat``): liveness for the probe, figures for ``dataplat status``.

Rewritten atomically on every event (process starting, query started, each step of a batch,
batch committed, idle, terminated) and every 10 s in between. Fields: ``ts`` (epoch s), ``state``
(starting, started, processing, committed, idle, terminated), ``batch_id``, ``step`` and
``step_since`` (epoch s), ``rows`` (the last batch's events per table) and ``rows_total``,
``dead_letters`` (total since start) and ``dead_letters_last``, ``commit_lag`` (``last_s``: lake
commit time - newest source commit time of the batch; ``p50_s``/``p95_s`` over the last ``window``
batches; ``samples``), ``source_age_s`` (now - newest source commit time seen: grows when nothing
arrives; the heartbeat table's changes keep it small while the source is idle), ``events_per_s``,
``schema_changes``, ``maintenance``. One JSON line per batch goes to stdout too.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

from spark_apps.cdc.batch import BatchReport


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def _epoch(stamp: datetime) -> float:
    """Spark hands timestamps as naive datetimes in the session time zone (UTC)."""
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


class Metrics:
    """Thread-safe: ``foreachBatch`` and the query listener both report here."""

    def __init__(self, path: Path | None, window: int = 100, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock = path, clock
        self.lags: deque[float] = deque(maxlen=window)
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {
            "state": "starting",
            "batch_id": None,
            "rows": {},
            "rows_total": {},
            "dead_letters": 0,
            "dead_letters_last": 0,
            "schema_changes": [],
        }
        self.newest_source: float | None = None

    def _write(self, **changes: Any) -> dict[str, Any]:
        with self.lock:
            self.state.update(changes)
            now = self.clock()
            beat = {**self.state, "ts": now}
            beat["source_age_s"] = None if self.newest_source is None else round(now - self.newest_source, 1)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text(json.dumps(beat, default=str))
                os.replace(tmp, self.path)
            return beat

    def starting(self) -> None:
        """The process is up, the query is not (replaces a killed predecessor's last heartbeat)."""
        self._write(state="starting", started_at=self.clock())

    def started(self, run_id: str) -> None:
        self._write(state="started", run_id=run_id)

    def step(self, batch_id: int, step: str) -> None:
        self._write(state="processing", batch_id=batch_id, step=step, step_since=self.clock())

    def tick_every(self, interval_s: float) -> threading.Thread:
        """Refresh ``ts`` every ``interval_s`` from a daemon thread, so that a long MERGE does not look
        like a dead process (``step_since`` tells how long the current step has run)."""

        def tick() -> None:
            while True:
                time.sleep(interval_s)
                self._write()

        thread = threading.Thread(target=tick, name="cdc-heartbeat", daemon=True)
        thread.start()
        return thread

    def batch(
        self, report: BatchReport, duration_s: float, maintenance: dict[str, Any] | None = None
    ) -> None:
        """A batch committed: lag, counts, rates."""
        now = self.clock()
        lag = None
        if report.max_source_ts is not None:
            newest = _epoch(report.max_source_ts)
            self.newest_source = max(newest, self.newest_source or newest)
            lag = round(now - newest, 3)
            self.lags.append(lag)
        samples = list(self.lags)
        totals = dict(self.state["rows_total"])
        for table, n in report.events.items():
            totals[table] = totals.get(table, 0) + n
        events = sum(report.events.values())
        changes: dict[str, Any] = {
            "state": "committed",
            "batch_id": report.batch_id,
            "step": None,
            "step_since": None,
            "rows": report.events,
            "rows_total": totals,
            "dead_letters": self.state["dead_letters"] + report.dead_letters,
            "dead_letters_last": report.dead_letters,
            "commit_lag": {
                "last_s": lag,
                "p50_s": percentile(samples, 0.5),
                "p95_s": percentile(samples, 0.95),
                "samples": len(samples),
            },
            "batch_s": round(duration_s, 3),
            "events_per_s": round(events / duration_s, 1) if duration_s > 0 else None,
            "steps_ms": report.steps_ms,
            "max_source_ts": report.max_source_ts,
        }
        if report.schema_changes:
            changes["schema_changes"] = (self.state["schema_changes"] + report.schema_changes)[-20:]
        beat = self._write(**changes)
        emit(
            {
                "event": "batch",
                **{
                    k: beat.get(k)
                    for k in (
                        "batch_id",
                        "rows",
                        "dead_letters_last",
                        "commit_lag",
                        "batch_s",
                        "events_per_s",
                        "steps_ms",
                    )
                },
                "schema_changes": report.schema_changes,
            }
        )

    def maintained(self, result: dict[str, Any]) -> None:
        """Table upkeep ran (after a batch)."""
        self._write(state="committed", step=None, step_since=None, maintenance=result)
        emit({"event": "maintenance", **result})

    def progress(self, input_rows_per_s: float | None, offsets_behind: int | None) -> None:
        self._write(input_rows_per_s=input_rows_per_s, offsets_behind=offsets_behind)

    def idle(self) -> None:
        self._write(state="idle", step=None, step_since=None)

    def terminated(self, exception: str | None) -> None:
        self._write(state="terminated", error=exception)


def offsets_behind(sources: list[Any]) -> int | None:
    """Kafka offsets between what the batch read and the topics' latest (None: not reported)."""
    total, known = 0, False
    for source in sources:
        try:
            end, latest = json.loads(source.endOffset), json.loads(source.latestOffset)
        except (TypeError, ValueError):
            continue
        known = True
        for topic, parts in (latest or {}).items():
            for part, offset in parts.items():
                total += max(0, int(offset) - int((end or {}).get(topic, {}).get(part, offset)))
    return total if known else None


class Listener(StreamingQueryListener):
    """Query events -> :class:`Metrics` (keeps the heartbeat fresh while no data arrives)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def onQueryStarted(self, event: Any) -> None:
        emit({"event": "started", "query": event.name, "id": str(event.id), "run_id": str(event.runId)})
        self.metrics.started(str(event.runId))

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        self.metrics.progress(round(progress.inputRowsPerSecond or 0.0, 1), offsets_behind(progress.sources))

    def onQueryIdle(self, event: Any) -> None:
        self.metrics.idle()

    def onQueryTerminated(self, event: Any) -> None:
        emit({"event": "terminated", "id": str(event.id), "exception": event.exception})
        self.metrics.terminated(event.exception)
