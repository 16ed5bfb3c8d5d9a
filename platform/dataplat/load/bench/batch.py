"""Benchmark of the ``insights`` batch DAG: a day of records through Airflow vs bare spark-submit.

:func:`run_dag` runs the DAG for one date with ``airflow dags test`` (the platform's Airflow env:
real connections, metadatabase, operators) and reads each task's state and duration back from
the REST API; :func:`run` then submits the same two Spark jobs directly and compares wall times.
The integration tests drive the DAG through :func:`run_dag` too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from dataplat.airflow_rest import airflow_client
from dataplat.load.bench.report import save_report
from dataplat.paths import venv_bin
from dataplat.settings import REPO_ROOT, Settings

DAG_ID = "insights"
SPARK_TASKS = {
    "insights_json_to_parquet": "insights_json_to_parquet.py",
    "group_insights": "insights_group.py",
}
TASK_ORDER = (
    "insights_to_hdfs",
    "insights_json_to_parquet",
    "check_insights_rows",
    "check_insights_keys",
    "group_insights",
    "check_grouped_insights",
)
RUN_ID = re.compile(r"DagRun Finished: dag_id=\w+, logical_date=[^,]+, run_id=([^,\s]+),")


@dataclass(frozen=True)
class TaskResult:
    state: str | None
    seconds: float | None
    tries: int


@dataclass
class DagRunResult:
    run_id: str | None
    state: str | None
    wall_s: float
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    output: str = ""

    def describe(self) -> str:
        states = {name: task.state for name, task in self.tasks.items()}
        return f"run {self.run_id}: {self.state} {states}\n" + "\n".join(self.output.splitlines()[-40:])


def airflow_env(settings: Settings) -> dict[str, str]:
    """The caller's environment plus exactly what the platform's Airflow processes run with."""
    from dataplat.runtime import build_context
    from dataplat.services import airflow

    return {**os.environ, **airflow.specs(build_context(settings))[0].env}


def task_results(settings: Settings, run_id: str) -> tuple[str | None, dict[str, TaskResult]]:
    """The run's state and each task's state, duration and tries from the REST API."""
    base = f"/dags/{DAG_ID}/dagRuns/{run_id}"
    with airflow_client(settings) as client:
        run = client.get(base).raise_for_status().json()
        instances = client.get(f"{base}/taskInstances").raise_for_status().json()["task_instances"]
    tasks = {
        ti["task_id"]: TaskResult(ti["state"], ti.get("duration"), int(ti.get("try_number") or 0))
        for ti in instances
    }
    return run["state"], tasks


def run_dag(settings: Settings, day: str, conf: dict[str, Any], *, timeout_s: float = 1800) -> DagRunResult:
    """Run the DAG for ``day`` (YYYY-MM-DD) with ``conf`` through ``airflow dags test``."""
    airflow = str(venv_bin() / "airflow")
    argv = [airflow, "dags", "test", DAG_ID, day, "--conf", json.dumps(conf)]
    started = time.monotonic()
    done = subprocess.run(
        argv, env=airflow_env(settings), capture_output=True, text=True, timeout=timeout_s, check=False
    )
    wall = time.monotonic() - started
    output = done.stdout + done.stderr
    found = RUN_ID.findall(output)
    if not found:
        return DagRunResult(None, None, wall, output=output)
    state, tasks = task_results(settings, found[-1])
    if not tasks:  # e.g. a date before the DAG's start_date: the run "succeeds" doing nothing
        state = "no tasks"
    return DagRunResult(found[-1], state, wall, tasks, output)


def submit_direct(settings: Settings, day: str, database: str, raw_root: str) -> dict[str, float]:
    """The two Spark jobs with bare ``spark-submit`` (the platform's Spark env), seconds each."""
    from dataplat.demo import submit_env
    from dataplat.runtime import build_context

    ctx = build_context(settings)
    env, seconds = submit_env(ctx), {}
    for task, app in SPARK_TASKS.items():
        argv = [str(ctx.python_bin.parent / "spark-submit"), str(REPO_ROOT / "spark_apps" / app)]
        argv += ["--date", day, "--database", database]
        if task == "insights_json_to_parquet":
            argv += ["--raw-root", raw_root]
        started = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=False)
        seconds[task] = time.monotonic() - started
        if done.returncode != 0:
            raise RuntimeError(f"{app} failed:\n" + "\n".join(done.stderr.splitlines()[-20:]))
    return seconds


def land_direct(settings: Settings, day: str, records: int, raw_root: str) -> float:
    """The DAG's own fetch-and-publish function called without Airflow around it; seconds."""
    import importlib.util
    from unittest import mock

    spec = importlib.util.spec_from_file_location("insights_dag", REPO_ROOT / "dags" / "insights.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, airflow_env(settings)):  # its connections, as the tasks see them
        spec.loader.exec_module(module)
        started = time.monotonic()
        module.land_insights(day, records, 1, {}, "bare", raw_root)
        return time.monotonic() - started


def checks_direct(settings: Settings, day: str, database: str, records: int) -> float:
    """The DAG's three quality checks as plain Trino queries; seconds."""
    from dataplat.load.bench.streaming import trino_cursor

    on_day, table = f"\"date\" = DATE '{day}'", f"hive.{database}.insights"  # validated date, identifier
    nulls = "event_id IS NULL OR username IS NULL OR event_name IS NULL OR event_time IS NULL"
    rows = f"(SELECT count(*) FROM {table} WHERE {on_day})"  # noqa: S608
    statements = (
        f"SELECT {rows} = {records}",
        f"SELECT count_if({nulls}) = 0 FROM {table} WHERE {on_day}",  # noqa: S608
        f"SELECT sum(events) = {rows} AND sum(events) = {records} FROM hive.{database}.grouped_insights "  # noqa: S608
        f"WHERE {on_day}",
    )
    cursor, started = trino_cursor(settings), time.monotonic()
    for sql in statements:
        cursor.execute(sql)
        if cursor.fetchone()[0] is not True:
            raise RuntimeError(f"check failed on the bare pipeline's output: {sql}")
    return time.monotonic() - started


def run(
    settings: Settings,
    console: Console,
    *,
    records: int = 1_000_000,
    day: str = "2026-11-05",
    database: str = "bench",
) -> dict[str, Any]:
    """A day of ``records`` through the DAG, then the same Spark jobs directly; prints and saves."""
    datetime.strptime(day, "%Y-%m-%d")  # validates the format
    raw_root = f"/lake/raw/{database}/insights"  # the benchmark's own raw layer
    with console.status(f"insights DAG for {day}: {records:,} records via airflow dags test..."):
        conf = {"count": records, "seed": 1, "database": database, "raw_root": raw_root}
        dag_run = run_dag(settings, day, conf)
    if dag_run.state != "success":
        raise RuntimeError(f"the DAG run did not succeed:\n{dag_run.describe()}")
    bare_db, bare_raw = f"{database}_direct", f"/lake/raw/{database}_direct/insights"
    with console.status("the same steps without Airflow: fetch, bare spark-submit, Trino checks..."):
        fetch_s = land_direct(settings, day, records, bare_raw)
        direct = submit_direct(settings, day, bare_db, bare_raw)
        checks_s = checks_direct(settings, day, bare_db, records)
    order = {name: index for index, name in enumerate(TASK_ORDER)}
    ordered = sorted(dag_run.tasks.items(), key=lambda item: order.get(item[0], len(order)))
    tasks = {name: task.seconds or 0.0 for name, task in ordered}
    airflow_spark = sum(tasks[name] for name in SPARK_TASKS)
    direct_spark = sum(direct.values())
    bare_pipeline = fetch_s + direct_spark + checks_s
    figures: dict[str, Any] = {
        "records": records,
        "day": day,
        "run_id": dag_run.run_id,
        "airflow_task_s": tasks,
        "airflow_dag_wall_s": dag_run.wall_s,
        "airflow_tasks_sum_s": sum(tasks.values()),
        "direct_spark_submit_s": direct,
        "spark_ratio_airflow_vs_direct": {name: tasks[name] / direct[name] for name in SPARK_TASKS},
        "spark_total_ratio": airflow_spark / direct_spark,
        "dag_wall_vs_direct_spark_ratio": dag_run.wall_s / direct_spark,
        "bare_pipeline_s": {"fetch": fetch_s, "spark": direct_spark, "checks": checks_s},
        "dag_wall_vs_bare_pipeline_ratio": dag_run.wall_s / bare_pipeline,
    }
    figures["report"] = str(save_report(settings, "batch", figures))
    console.print(_table(figures))
    return figures


def _table(figures: dict[str, Any]) -> Table:
    table = Table(title=f"insights DAG, {figures['records']:,} records for {figures['day']}")
    for column in ("step", "through Airflow (s)", "bare spark-submit (s)", "ratio"):
        table.add_column(column, justify="right" if column != "step" else "left")
    direct, ratios = figures["direct_spark_submit_s"], figures["spark_ratio_airflow_vs_direct"]
    for name, seconds in figures["airflow_task_s"].items():
        if name in direct:
            table.add_row(name, f"{seconds:.1f}", f"{direct[name]:.1f}", f"{ratios[name]:.2f}")
        else:
            table.add_row(name, f"{seconds:.1f}", "-", "-")
    table.add_row("tasks, summed", f"{figures['airflow_tasks_sum_s']:.1f}", f"{sum(direct.values()):.1f}", "")
    table.add_row(
        "whole DAG (dags test wall)",
        f"{figures['airflow_dag_wall_s']:.1f}",
        f"{sum(direct.values()):.1f}",
        f"{figures['dag_wall_vs_direct_spark_ratio']:.2f}",
    )
    bare = figures["bare_pipeline_s"]
    table.add_row(
        "whole DAG vs the same steps bare (fetch, Spark, checks)",
        f"{figures['airflow_dag_wall_s']:.1f}",
        f"{sum(bare.values()):.1f}",
        f"{figures['dag_wall_vs_bare_pipeline_ratio']:.2f}",
    )
    return table
