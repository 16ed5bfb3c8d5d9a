"""``dataplat compact clickstream --date D``: fold a day's streaming increments into one file.

Runs ``spark_apps/clickstream/compact.py`` with spark-submit (the platform's Spark conf); query
results do not change, and it is safe while the streaming app writes (see that module).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from typing import Any

from dataplat.runtime import build_context
from dataplat.services.streaming import lake_args, submit_env
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spec import Context

JOB = REPO_ROOT / "spark_apps" / "clickstream" / "compact.py"


def compact_argv(ctx: Context, date: dt.date) -> list[str]:
    """The spark-submit command line of the compaction job for ``date``."""
    return [
        str(ctx.python_bin.parent / "spark-submit"),
        "--name", f"clickstream-compact-{date}",
        "--conf", "spark.ui.enabled=false",
        str(JOB), "--date", date.isoformat(), *lake_args(ctx.settings),
    ]  # fmt: skip


def compact_clickstream(settings: Settings, date: dt.date, *, timeout_s: float = 900.0) -> dict[str, Any]:
    """Compact ``start_date = date``; returns the job's summary (files folded, new file, ...)."""
    ctx = build_context(settings)
    argv = compact_argv(ctx, date)
    env = {**os.environ, **submit_env(ctx)}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=timeout_s)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-20:])
        raise RuntimeError(f"compaction of {date} failed (exit {result.returncode}):\n{tail}")
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary
