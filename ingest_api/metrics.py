"""Prometheus metrics of the ingest path (served at ``/metrics``).

Under several uvicorn workers each process counts on its own: ``INGEST_METRICS_DIR`` (the platform
sets it when ``ingest_workers`` > 1) switches prometheus_client to its multi-process mode, so
``/metrics`` sums every worker's counters whichever worker answers. Each run of the server (one
uvicorn master) writes under a folder of its own, so a worker restarted by uvicorn keeps counting
on; folders of runs whose master is gone are removed at import, so counters start from zero like a
single process's after a restart.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

import psutil

METRICS_DIR_ENV = "INGEST_METRICS_DIR"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported


def _multiprocess_dir() -> str | None:
    """This run's metrics folder (created; finished runs' folders removed), or None: one process."""
    base = os.environ.get(METRICS_DIR_ENV)
    if not base:
        return os.environ.get(MULTIPROC_ENV) or None
    root, master = Path(base), os.getppid()
    run = root / str(master)
    run.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if folder.name.isdigit() and int(folder.name) != master and not psutil.pid_exists(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = str(run)
    return str(run)


MULTIPROCESS_DIR = _multiprocess_dir()

from prometheus_client import (  # noqa: E402 - after the environment it reads
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

if MULTIPROCESS_DIR is not None:  # whoever imported prometheus_client first, before the variable
    values.ValueClass = values.get_value_class()

ACCEPTED = Counter("ingest_records_accepted", "Records written to Kafka (delivery confirmed)", ["topic"])
REJECTED = Counter("ingest_records_rejected", "Records not written, by reason", ["topic", "reason"])
DLQ = Counter(
    "ingest_dlq_records", "Rejected records sent to the dead-letter topic, by outcome", ["topic", "outcome"]
)
PRODUCE_LATENCY = Histogram(
    "ingest_produce_latency_seconds",
    "From produce() to the broker's delivery report",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@functools.cache
def labelled(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, kept: ``labels()`` locks and validates on every call (hot path)."""
    return metric.labels(*values)


def exposition() -> bytes:
    """The text format of every metric: this process's, or all workers' in multi-process mode."""
    if MULTIPROCESS_DIR is None:
        return generate_latest()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    return generate_latest(registry)
