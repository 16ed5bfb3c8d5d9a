"""The insights DAG on the real stack: Airflow runs it, Trino's tables must equal the source's records.

Each test runs the DAG for a fixed date into the ``it_batch`` database
and its own raw folder (``airflow dags test`` with the platform's Airflow environment; task states
come back from the REST API).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import httpx
import pytest
import trino

from dataplat.load.bench.batch import DagRunResult, run_dag
from dataplat.runtime import Stack
from dataplat.settings import Settings

DB = "it_batch"
COUNT, SEED = 5_000, 11
RAW = f"/lake/raw/{DB}/insights"  # the tests' own raw layer (default: /lake/raw/insights)


def query(settings: Settings, sql: str, schema: str = DB) -> list[list[Any]]:
    host, _, port = settings.trino_url.split("://", 1)[1].partition(":")
    with trino.dbapi.connect(host=host, port=int(port), user="it", catalog="hive", schema=schema) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchall()


def source_records(settings: Settings, day: str, **params: Any) -> list[dict[str, Any]]:
    answer = httpx.get(f"{settings.source_api_url}/insights", params={"date": day, **params}, timeout=120)
    answer.raise_for_status()
    return [json.loads(line) for line in answer.text.splitlines()]


def hdfs(settings: Settings):
    from hdfs import InsecureClient

    return InsecureClient(settings.webhdfs_url, user=os.environ.get("USER", "root"))


def run(settings: Settings, day: str, **conf: Any) -> DagRunResult:
    return run_dag(settings, day, {"count": COUNT, "seed": SEED, "database": DB, "raw_root": RAW, **conf})


@pytest.fixture(scope="module")
def first_run(stack: Stack, settings: Settings) -> DagRunResult:
    return run(settings, "2026-11-02")


def test_run_loads_exactly_the_source_records(first_run: DagRunResult, settings: Settings) -> None:
    assert first_run.state == "success", first_run.describe()
    assert {t.state for t in first_run.tasks.values()} == {"success"}
    expected = source_records(settings, "2026-11-02", count=COUNT, seed=SEED)
    rows = query(
        settings,
        "SELECT event_id, username, page, event_name, "
        "to_iso8601(event_time AT TIME ZONE 'UTC') FROM insights WHERE \"date\" = DATE '2026-11-02'",
    )
    assert len(rows) == COUNT
    by_id = {row[0]: row for row in rows}
    for record in expected[:: COUNT // 50]:  # field by field on a sample, ids on all
        _event_id, username, page, name, stamp = by_id[record["event_id"]]
        assert (username, page, name) == (record["username"], record["page"], record["event_name"])
        assert stamp.replace("+00:00", "Z").startswith(record["event_time"][:23])
    assert set(by_id) == {record["event_id"] for record in expected}
    grouped = dict(
        query(settings, "SELECT event_name, events FROM grouped_insights WHERE \"date\" = DATE '2026-11-02'")
    )
    assert grouped == Counter(record["event_name"] for record in expected)
    assert "rows read from source: 5000" in first_run.output
    assert "wrote 5000 rows to it_batch.insights partition date=2026-11-02" in first_run.output


def test_rerun_of_the_same_date_keeps_the_totals(first_run: DagRunResult, settings: Settings) -> None:
    assert first_run.state == "success", first_run.describe()
    again = run(settings, "2026-11-02")
    assert again.state == "success", again.describe()
    totals = query(
        settings,
        "SELECT (SELECT count(*) FROM insights WHERE \"date\" = DATE '2026-11-02'), "
        "(SELECT sum(events) FROM grouped_insights WHERE \"date\" = DATE '2026-11-02')",
    )
    assert totals == [[COUNT, COUNT]]
    assert len(hdfs(settings).list(f"{RAW}/date=2026-11-02")) == 1


def test_source_failure_fails_the_fetch_and_publishes_nothing(stack: Stack, settings: Settings) -> None:
    day, client = "2026-11-03", hdfs(settings)
    client.delete(f"{RAW}/date={day}", recursive=True)
    result = run(settings, day, source_options={"fail_after": 2_000})
    assert result.state == "failed", result.describe()
    assert result.tasks["insights_to_hdfs"].state == "failed"
    assert result.tasks["insights_to_hdfs"].tries >= 2  # it was retried
    assert result.tasks["insights_json_to_parquet"].state == "upstream_failed"
    assert client.status(f"{RAW}/date={day}", strict=False) is None
    assert not [name for name in client.list(f"{RAW}/_staging") if day in name]


def test_bad_record_fails_the_quality_check(stack: Stack, settings: Settings) -> None:
    result = run(settings, "2026-11-04", source_options={"bad_every": 1_000})
    assert result.state == "failed", result.describe()
    assert result.tasks["insights_json_to_parquet"].state == "success"
    assert result.tasks["check_insights_keys"].state == "failed"
    assert result.tasks["group_insights"].state == "upstream_failed"
    assert "Column: username" in result.output and "null_check" in result.output
