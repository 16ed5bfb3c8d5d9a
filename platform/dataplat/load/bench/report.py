"""Save a benchmark's figures as JSON under ``<home>/reports`` and return the path."""

from __future__ import annotations

import json
import platform as _stdlib_platform  # the standard library module (our runtime is `dataplat`)
import time
from pathlib import Path
from typing import Any

import psutil

from dataplat.paths import paths_for
from dataplat.settings import Settings


def reports_dir(settings: Settings) -> Path:
    """Where the platform keeps benchmark reports (``<home>/reports``)."""
    return paths_for(settings).home / "reports"


def save_report(settings: Settings, name: str, figures: dict[str, Any]) -> Path:
    return write_report(reports_dir(settings), name, figures)


def write_report(folder: Path, name: str, figures: dict[str, Any]) -> Path:
    """``folder/<name>-<timestamp>.json``: the figures and the machine they were measured on."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    document = {
        "benchmark": name,
        "at": stamp,
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "load_avg_1m": psutil.getloadavg()[0],
            "python": _stdlib_platform.python_version(),
        },
        "figures": figures,
    }
    path = folder / f"{name}-{stamp}.json"
    path.write_text(json.dumps(document, indent=2))
    return path
