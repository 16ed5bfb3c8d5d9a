"""Daily insights batch: source API -> raw JSON lines on HDFS -> Parquet table -> daily counts.

1. ``insights_to_hdfs`` streams the logical date's records from the source API (connection
   ``source_api``) into ``/lake/raw/insights/date=YYYY-MM-DD/`` over WebHDFS (``webhdfs_default``):
   written under ``_staging`` and renamed into place, so no partial partition is ever visible.
2. ``insights_json_to_parquet`` (spark-submit, ``spark_default``) replaces that day's partition of
   ``<database>.insights``; ``group_insights`` replaces that day's ``<database>.grouped_insights``.
3. Trino checks (``trino_default``) after each write: row count equals what the source sent, no null
   keys, grouped counts sum to the day's rows.

Params (trigger conf): ``count`` records per day, ``seed``, ``database``, ``raw_root`` and
``source_options`` (the source API's fault-injection query parameters, e.g. ``{"fail_after": 10}``;
see source_api.main). There is no ``start_date``: a run for any logical date (the UI's "Trigger DAG",
REST, ``airflow dags test``, a backfill) runs every task; Airflow gives no task to runs dated before a
task's start date, and such a run "succeeded" without loading anything. Unpaused, the scheduler runs
the latest day (no catch-up); history is Airflow 3's backfill:
``dataplat backfill insights FROM TO`` (REST) or ``airflow backfill create --dag-id insights ...``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
from airflow.sdk import Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

APPS = Path(__file__).resolve().parents[1] / "spark_apps"
RAW_ROOT = "/lake/raw/insights"
SOURCE_CONN, WEBHDFS_CONN = "source_api", "webhdfs_default"
SPARK_CONN, TRINO_CONN = "spark_default", "trino_default"
DAY = "{{ ds }}"
DB = "{{ params.database }}"
INSIGHTS, GROUPED = f"hive.{DB}.insights", f"hive.{DB}.grouped_insights"
ON_DAY = f"\"date\" = DATE '{DAY}'"
SOURCE_COUNT = "{{ ti.xcom_pull(task_ids='insights_to_hdfs')['count'] }}"


def fetch_to_file(url: str, params: dict[str, Any], target: Any) -> int:
    """Stream the source's NDJSON answer into ``target`` (binary file); returns the records received.

    Fails on a non-200 answer, a truncated body or fewer/more lines than ``X-Record-Count``.
    """
    import httpx

    lines = 0
    with httpx.stream("GET", url, params=params, timeout=httpx.Timeout(30.0, read=300.0)) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"source API answered {response.status_code}: {response.text[:300]}")
        announced = int(response.headers["X-Record-Count"])
        for chunk in response.iter_raw():
            lines += chunk.count(b"\n")
            target.write(chunk)
    if lines != announced:
        raise RuntimeError(f"source API announced {announced} records but sent {lines}")
    return lines


def land_insights(
    day: str, count: int, seed: int, options: dict[str, Any], run_tag: str, raw_root: str = RAW_ROOT
) -> dict[str, Any]:
    """Fetch one day from the source API and publish it as its raw partition; returns ``count``, ``path``.

    The body is spooled to a local file and checked first, so a failed fetch never touches HDFS;
    the upload goes to ``_staging`` (ignored by readers) and is renamed into place.
    """
    import getpass
    import logging
    import tempfile

    from airflow.providers.apache.hdfs.hooks.webhdfs import WebHDFSHook
    from airflow.sdk import BaseHook

    log = logging.getLogger("airflow.task")
    conn = BaseHook.get_connection(SOURCE_CONN)
    url = f"{conn.schema or 'http'}://{conn.host}:{conn.port}/insights"
    hdfs = WebHDFSHook(WEBHDFS_CONN, proxy_user=getpass.getuser()).get_conn()
    final, staging_root = f"{raw_root}/date={day}", f"{raw_root}/_staging"
    staging, replaced = f"{staging_root}/date={day}.{run_tag}", f"{staging_root}/replaced-{day}.{run_tag}"
    params = {"date": day, "count": count, "seed": seed, **options}
    log.info("fetching %s records of %s from %s (options %s)", count, day, url, options or "none")
    with tempfile.TemporaryFile(prefix=f"insights-{day}-") as spool:
        try:
            lines = fetch_to_file(url, params, spool)
        except Exception:
            log.error("fetch failed after %d bytes; nothing was written to HDFS", spool.tell())
            raise
        log.info("rows read from source: %d (%d bytes)", lines, spool.tell())
        spool.seek(0)
        for leftover in hdfs.list(staging_root) if hdfs.status(staging_root, strict=False) else []:
            if leftover.startswith((f"date={day}.", f"replaced-{day}.")):  # from an interrupted try
                hdfs.delete(f"{staging_root}/{leftover}", recursive=True)
        try:
            hdfs.write(f"{staging}/insights.jsonl", data=spool, overwrite=True)
            if hdfs.status(final, strict=False):
                hdfs.rename(final, replaced)  # rename refuses an existing target: move the old day aside
            hdfs.rename(staging, final)
        except BaseException:
            hdfs.delete(staging, recursive=True)
            raise
        hdfs.delete(replaced, recursive=True)
    log.info("rows written to %s: %d", final, lines)
    return {"count": lines, "path": final}


def spark_job(task_id: str, app: str, args: list[str]) -> SparkSubmitOperator:
    """``spark-submit spark_apps/<app> <args>`` through the platform's Spark connection."""
    return SparkSubmitOperator(
        task_id=task_id,
        application=str(APPS / app),
        application_args=args,
        name=task_id,
        conn_id=SPARK_CONN,
        verbose=False,
        py_files=None,
    )


@dag(
    dag_id="insights",
    # a run covers one whole UTC day and starts after it ends: ``ds`` is the day processed
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=None,  # any day can be run by hand; the scheduler still starts at the latest day
    catchup=False,  # earlier days through backfills, which run beside the daily run
    max_active_runs=1,
    is_paused_upon_creation=True,  # a fresh install runs nothing until someone asks
    default_args={"retries": 2, "retry_delay": timedelta(seconds=20)},
    params={
        "count": Param(10_000, type="integer", minimum=0, maximum=10_000_000),
        "seed": Param(0, type="integer", minimum=0),
        "database": Param("trusted", type="string", pattern="^[a-z_][a-z0-9_]*$"),
        "raw_root": Param(RAW_ROOT, type="string", pattern="^/[A-Za-z0-9_/.=-]+$"),
        "source_options": Param({}, type="object"),
    },
    tags=["batch", "insights"],
    doc_md=__doc__,
)
def insights() -> None:
    @task(retries=3, retry_delay=timedelta(seconds=10), retry_exponential_backoff=True)
    def insights_to_hdfs(ds: str | None = None, params: dict[str, Any] | None = None, ti: Any = None) -> dict:
        assert ds is not None and params is not None
        tag = f"{ti.run_id}.{ti.try_number}".replace(":", "_").replace("+", "_")
        options = params["source_options"]
        return land_insights(ds, params["count"], params["seed"], options, tag, params["raw_root"])

    to_parquet = spark_job(
        "insights_json_to_parquet",
        "insights_json_to_parquet.py",
        ["--date", DAY, "--database", DB, "--raw-root", "{{ params.raw_root }}"],
    )
    check_rows = SQLTableCheckOperator(
        task_id="check_insights_rows",
        conn_id=TRINO_CONN,
        table=INSIGHTS,
        partition_clause=ON_DAY,
        checks={"insights_row_count_equals_source_count": {"check_statement": f"COUNT(*) = {SOURCE_COUNT}"}},
    )
    check_keys = SQLColumnCheckOperator(
        task_id="check_insights_keys",
        conn_id=TRINO_CONN,
        table=INSIGHTS,
        partition_clause=ON_DAY,
        column_mapping={
            column: {"null_check": {"equal_to": 0}}
            for column in ("event_id", "username", "event_name", "event_time")
        },
    )
    group = spark_job("group_insights", "insights_group.py", ["--date", DAY, "--database", DB])
    check_grouped = SQLTableCheckOperator(
        task_id="check_grouped_insights",
        conn_id=TRINO_CONN,
        table=GROUPED,
        partition_clause=ON_DAY,
        checks={
            "grouped_sum_equals_insights_rows": {
                "check_statement": f"SUM(events) = (SELECT COUNT(*) FROM {INSIGHTS} WHERE {ON_DAY})"  # noqa: S608
            },
            "grouped_sum_equals_source_count": {"check_statement": f"SUM(events) = {SOURCE_COUNT}"},
            "no_null_event_name": {"check_statement": "COUNT_IF(event_name IS NULL) = 0"},
        },
    )
    for check in (check_rows, check_keys, check_grouped):
        check.retries = 1  # a failed check is about the data: one retry covers a Trino hiccup
    landed = insights_to_hdfs()
    landed >> to_parquet >> [check_rows, check_keys] >> group >> check_grouped


insights_dag = insights()
