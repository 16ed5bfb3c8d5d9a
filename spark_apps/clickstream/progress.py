"""Streaming metrics: one JSON line per micro-batch on stdout, plus a heartbeat file for the probe."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener


class BatchNotes:
    """What ``foreachBatch`` learnt about each batch (counts, event-time range), for the listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: dict[int, dict[str, Any]] = {}
        self.quarantined_total = 0

    def put(self, batch_id: int, note: dict[str, Any]) -> None:
        with self._lock:
            self._notes[batch_id] = note
            self.quarantined_total += int(note.get("quarantined") or 0)

    def pop(self, batch_id: int) -> dict[str, Any]:
        with self._lock:
            for old in [key for key in self._notes if key < batch_id - 100]:
                del self._notes[old]
            return self._notes.pop(batch_id, {})


def write_heartbeat(path: Path | None, payload: dict[str, Any]) -> None:
    """Atomically replace the heartbeat file (the service probe checks its age)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _kafka_lag(sources: list[Any]) -> int | None:
    """Offsets between what the batch read and the topic's latest offsets (None: not reported)."""
    known = [source for source in sources if source.latestOffset]
    return sum(_sum_behind(source) for source in known) if known else None


def _sum_behind(source: Any) -> int:
    try:
        end, latest = json.loads(source.endOffset), json.loads(source.latestOffset)
    except (TypeError, ValueError):
        return 0
    total = 0
    for topic, parts in latest.items():
        for part, offset in parts.items():
            total += max(0, int(offset) - int(end.get(topic, {}).get(part, offset)))
    return total


def _lag_s(now_ms: float, max_event: Any) -> float | None:
    """Seconds between now and the newest event time of the batch (Spark hands naive UTC)."""
    if max_event is None:
        return None
    return round(now_ms / 1000 - max_event.replace(tzinfo=UTC).timestamp(), 1)


class ProgressLogger(StreamingQueryListener):
    """Logs input rate, batch duration, lag and quarantine counts; touches the heartbeat."""

    def __init__(self, notes: BatchNotes, heartbeat: Path | None) -> None:
        self.notes, self.heartbeat = notes, heartbeat

    def onQueryStarted(self, event: Any) -> None:
        emit({"event": "started", "query": event.name, "id": str(event.id), "run_id": str(event.runId)})
        write_heartbeat(self.heartbeat, {"ts": time.time(), "state": "started", "run_id": str(event.runId)})

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        note = self.notes.pop(p.batchId)
        now_ms = time.time() * 1000
        max_event = note.get("max_event_time")
        record = {
            "event": "progress",
            "batch": p.batchId,
            "input_rows": p.numInputRows,
            "input_rows_per_s": round(p.inputRowsPerSecond or 0.0, 1),
            "processed_rows_per_s": round(p.processedRowsPerSecond or 0.0, 1),
            "batch_ms": p.durationMs.get("triggerExecution"),
            "durations_ms": p.durationMs,
            "offsets_behind": _kafka_lag(p.sources),
            "counted": note.get("good"),
            "quarantined": note.get("quarantined"),
            "quarantined_total": self.notes.quarantined_total,
            "max_event_time": max_event,
            "event_time_lag_s": _lag_s(now_ms, max_event),
            "files": note.get("files"),
            "steps_ms": note.get("steps_ms"),
        }
        emit(record)
        write_heartbeat(self.heartbeat, {"ts": time.time(), "state": "progress", "batch": p.batchId})

    def onQueryIdle(self, event: Any) -> None:
        write_heartbeat(self.heartbeat, {"ts": time.time(), "state": "idle"})

    def onQueryTerminated(self, event: Any) -> None:
        emit({"event": "terminated", "id": str(event.id), "exception": event.exception})
        write_heartbeat(self.heartbeat, {"ts": 0, "state": "terminated"})
