"""The insights DAG parses, has the documented shape and keeps heavy imports out of parse time."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture(scope="module")
def dag():
    import runpy

    return runpy.run_path(str(DAGS / "insights.py"))["insights_dag"]


def test_schedule_and_defaults(dag) -> None:
    assert dag.catchup is False  # history comes from backfills
    assert dag.start_date == datetime(2026, 11, 1, tzinfo=UTC)
    # data intervals: the run for day D starts after D ends and ``ds`` is D
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.summary in {"@daily", "0 0 * * *"}
    assert dag.max_active_runs == 1
    assert dag.params["count"] == 10_000 and dag.params["database"] == "trusted"
    assert all(task.retries >= 1 for task in dag.tasks)


def test_task_order(dag) -> None:
    assert set(dag.task_ids) == {
        "insights_to_hdfs",
        "insights_json_to_parquet",
        "check_insights_rows",
        "check_insights_keys",
        "group_insights",
        "check_grouped_insights",
    }
    downstream = {task.task_id: task.downstream_task_ids for task in dag.tasks}
    assert downstream["insights_to_hdfs"] == {"insights_json_to_parquet"}
    assert downstream["insights_json_to_parquet"] == {"check_insights_rows", "check_insights_keys"}
    assert downstream["check_insights_rows"] == downstream["check_insights_keys"] == {"group_insights"}
    assert downstream["group_insights"] == {"check_grouped_insights"}


def test_spark_tasks_use_the_platform_connection_and_apps(dag) -> None:
    for task_id, app in (
        ("insights_json_to_parquet", "insights_json_to_parquet.py"),
        ("group_insights", "insights_group.py"),
    ):
        task = dag.get_task(task_id)
        assert task._conn_id == "spark_default"
        assert Path(task.application).name == app and Path(task.application).exists()
        assert task.application_args[:2] == ["--date", "{{ ds }}"]


def test_checks_run_on_trino_for_the_day(dag) -> None:
    for task_id in ("check_insights_rows", "check_insights_keys", "check_grouped_insights"):
        task = dag.get_task(task_id)
        assert task.conn_id == "trino_default"
        assert task.partition_clause == "\"date\" = DATE '{{ ds }}'"
    assert "xcom_pull(task_ids='insights_to_hdfs')" in dag.get_task("check_insights_rows").sql


def test_parsing_imports_no_heavy_clients() -> None:
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]); "
        "print(','.join(m for m in ('pyspark', 'hdfs', 'trino') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(DAGS / "insights.py")], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1:] in ([], [""]), result.stdout
