"""The insights DAG parses, has the documented shape and keeps heavy imports out of parse time."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture(scope="module")
def dag():
    import runpy

    return runpy.run_path(str(DAGS / "insights.py"))["insights_dag"]


def test_schedule_and_defaults(dag) -> None:
    assert dag.catchup is False  # history comes from backfills
    assert dag.start_date is None  # a manual run of any day gets every task
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


def _serialized(dag):
    """The DAG as the scheduler sees it (serialized and back), no metadatabase needed."""
    from airflow.serialization.serialized_objects import SerializedDAG

    return SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))


def scheduled_task_ids(dag, logical_date: datetime) -> set[str]:
    """The tasks Airflow 3.1's ``DagRun.verify_integrity`` creates instances for in a manual run.

    Its own filter runs (tasks whose start_date is after the logical date get none); only the
    database work around it is stubbed.
    """
    from unittest import mock

    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    run = DagRun(
        dag_id=dag.dag_id, run_id="manual__unit", logical_date=logical_date, run_type=DagRunType.MANUAL
    )
    run.dag = _serialized(dag)
    created: set[str] = set()

    def create(tasks: Any, _creator: Any, session: Any) -> list[Any]:
        created.update(task.task_id for task in tasks)
        return []

    with (
        mock.patch.object(DagRun, "_check_for_removed_or_restored_tasks", return_value=set()),
        mock.patch.object(DagRun, "_create_tasks", side_effect=create),
        mock.patch.object(DagRun, "_create_task_instances"),
    ):
        run.verify_integrity(session=mock.MagicMock(), dag_version_id="unit")
    return created


@pytest.mark.parametrize("day", ["1990-01-01", "2020-01-01", "2026-10-31", "2026-11-20"])
def test_a_manual_run_of_any_day_schedules_every_task(dag, day: str) -> None:
    """A run for a day before the DAG's start_date used to 'succeed' with no task at all."""
    logical_date = datetime.fromisoformat(day).replace(tzinfo=UTC)
    for task in dag.tasks:
        assert task.start_date is None or task.start_date <= logical_date, task.task_id
        assert task.end_date is None, task.task_id
    assert scheduled_task_ids(dag, logical_date) == set(dag.task_ids)


def test_unpaused_the_scheduler_runs_only_the_latest_day(dag) -> None:
    info = _serialized(dag).next_dagrun_info(None)  # no run yet: what unpausing schedules
    now = datetime.now(UTC)
    assert info is not None and info.data_interval.end <= now < info.data_interval.end + timedelta(days=1)
    assert info.data_interval.end - info.data_interval.start == timedelta(days=1)
