"""The platform's Spark jobs on a separate Spark standalone cluster, chosen by configuration only.

A master and a worker start from pyspark's own ``spark-class``; a copy of the platform settings
with ``external.spark_master = spark://...`` then drives the insights DAG (Airflow's
``spark_default`` connection follows the setting) and the clickstream app (``spark-defaults.conf``
follows it). The master's own application list proves the jobs ran there, not in ``local[*]``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from dataplat.load.bench.batch import run_dag
from dataplat.load.bench.streaming import ClickProducer, event, trino_cursor
from dataplat.runtime import Stack, build_context
from dataplat.services.streaming import APP, app_args, submit_env
from dataplat.settings import Settings
from dataplat.spark_conf import spark_conf_dir
from tests.integration.spark_cluster import StandaloneCluster, standalone_cluster

BATCH_DB, STREAM_DB = "it_cluster", "it_cluster_stream"
DAY, COUNT, SEED = "2026-11-09", 4_000, 23


@pytest.fixture(scope="module")
def cluster(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    with standalone_cluster(stack.ctx, tmp_path_factory.mktemp("spark-cluster")) as running:
        yield running


@pytest.fixture(scope="module")
def on_cluster(settings: Settings, cluster: StandaloneCluster) -> Iterator[Settings]:
    """The platform settings with one change: ``external.spark_master`` is the cluster."""
    external = settings.external.model_copy(update={"spark_master": cluster.master_url})
    changed = settings.model_copy(update={"external": external})
    spark_conf_dir(build_context(changed))  # what `dataplat up` renders after the config change
    yield changed
    spark_conf_dir(build_context(settings))  # the shared SPARK_CONF_DIR back to the stack's master


def test_insights_dag_runs_its_spark_jobs_on_the_cluster(
    on_cluster: Settings, cluster: StandaloneCluster
) -> None:
    raw_root = f"/lake/raw/{BATCH_DB}/insights"
    conf = {"count": COUNT, "seed": SEED, "database": BATCH_DB, "raw_root": raw_root}
    result = run_dag(on_cluster, DAY, conf)
    assert result.state == "success", result.describe()
    assert {f"insights_json_to_parquet-{DAY}", f"insights_group-{DAY}"} <= cluster.app_names()

    cursor = trino_cursor(on_cluster)
    cursor.execute(f"SELECT count(*) FROM hive.{BATCH_DB}.insights WHERE date = DATE '{DAY}'")
    assert cursor.fetchone()[0] == COUNT
    cursor.execute(f"SELECT sum(events) FROM hive.{BATCH_DB}.grouped_insights WHERE date = DATE '{DAY}'")
    assert cursor.fetchone()[0] == COUNT


def _create_topic(settings: Settings, topic: str, partitions: int = 2) -> None:
    admin = AdminClient(settings.kafka_client_config())  # kept alive until the topic exists
    admin.create_topics([NewTopic(topic, partitions)])[topic].result(30)


def test_clickstream_app_counts_on_the_cluster(
    on_cluster: Settings, cluster: StandaloneCluster, topic: str, tmp_path: Path
) -> None:
    """``topic``: the integration conftest's fresh topic whose subject holds the clickstream schema."""
    run = uuid.uuid4().hex[:8]
    _create_topic(on_cluster, topic)
    now = int(time.time() * 1000)
    events = [
        event(f"cl-{run}-{i % 3}", page=f"/c{i % 2}", name=("click", "view")[i % 2], at_ms=now - i * 37)
        for i in range(300)
    ]
    producer = ClickProducer(on_cluster.model_copy(update={"lake": on_cluster.lake.model_copy(
        update={"click_topic": topic})}))  # fmt: skip
    producer.send(events)
    producer.flush()

    ctx = build_context(on_cluster)
    argv = [
        str(ctx.python_bin.parent / "spark-submit"), "--name", "clickstream", str(APP), *app_args(ctx),
        "--topic", topic, "--database", STREAM_DB,
        "--checkpoint", f"{on_cluster.hdfs_uri}/lake/tests/{STREAM_DB}/_checkpoints/{topic}",
    ]  # fmt: skip
    log = tmp_path / "clickstream.log"
    env = {**os.environ, **submit_env(ctx)}
    with log.open("wb") as out:
        app = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        rows = _wait_for_rows(on_cluster, run, len(events), app, log)
        assert "clickstream" in {a["name"] for a in cluster.state()["activeapps"]}
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=60)
        except subprocess.TimeoutExpired:
            app.kill()

    def window(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms // 5000 * 5, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    expected = Counter((e["username"], e["page"], e["event_name"], window(e["event_time"])) for e in events)
    assert rows == dict(expected)


def _wait_for_rows(
    settings: Settings, run: str, total: int, app: subprocess.Popen[bytes], log: Path, timeout_s: float = 300
) -> dict[tuple[str, str, str, str], int]:
    """The view's counts for this run's users once they add up to ``total``."""
    cursor = trino_cursor(settings)
    sql = (
        "SELECT username, page, event_name, format_datetime(window_start, 'yyyy-MM-dd HH:mm:ss'), count"
        f" FROM hive.{STREAM_DB}.clickstream_counts WHERE username LIKE ?"
    )
    deadline = time.monotonic() + timeout_s
    while True:
        assert app.poll() is None, "the clickstream app exited:\n" + log.read_text()[-3000:]
        try:
            cursor.execute(sql, [f"cl-{run}-%"])
            rows = {(r[0], r[1], r[2], r[3]): int(r[4]) for r in cursor.fetchall()}
            if sum(rows.values()) >= total:
                return rows
        except Exception as error:
            if "does not exist" not in str(error):
                raise
        assert time.monotonic() < deadline, json.dumps({"log": log.read_text()[-3000:]})
        time.sleep(2)
