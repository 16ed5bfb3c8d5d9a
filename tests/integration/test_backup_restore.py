"""``dataplat backup`` -> reset -> ``dataplat restore`` -> ``up``: the same tables in Trino, the same
DAG runs in Airflow, the same subjects in the registry and the same dashboards in Superset.

The reset is what the platform sees after ``dataplat reset`` (no data, conf, run folders, no secrets
file) but reversible: those are moved aside instead of deleted and put back at the end, so the rest
of the suite keeps the HDFS files and Kafka topics a backup does not hold. In between, the restored
stack starts on freshly formatted HDFS and Kafka: table definitions are compared, not table data.
"""

from __future__ import annotations

import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trino
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from rich.console import Console

from dataplat import backup
from dataplat.airflow_rest import airflow_client
from dataplat.paths import paths_for
from dataplat.runtime import Stack
from dataplat.secrets import get_secret
from dataplat.services import superset
from dataplat.settings import REPO_ROOT, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MOVED = ("data", "conf", "run")
DAG = "insights"
FINISHED = {"success", "failed"}
CLICK_SCHEMA = (REPO_ROOT / "schemas" / "appclickstream.avsc").read_text()


def trino_rows(settings: Settings, sql: str) -> list[list[Any]]:
    host, _, port = settings.trino_url.split("://", 1)[1].partition(":")
    with trino.dbapi.connect(host=host, port=int(port), user="it", catalog="hive") as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchall()


def superset_dashboards(settings: Settings) -> set[str]:
    password = get_secret(paths_for(settings).secrets_file, superset.PASSWORD_SECRET)
    with httpx.Client(base_url=superset.base_url(settings), timeout=60.0) as client:
        login = {"username": superset.ADMIN_USER, "password": password, "provider": "db", "refresh": False}
        token = client.post("/api/v1/security/login", json=login).raise_for_status().json()["access_token"]
        answer = client.get(
            "/api/v1/dashboard/",
            params={"q": "(page_size:100)"},
            headers={"Authorization": f"Bearer {token}"},
        )
        return {dashboard["dashboard_title"] for dashboard in answer.raise_for_status().json()["result"]}


def snapshot(settings: Settings) -> dict[str, Any]:
    """What a restore must bring back, read through each service's own API."""
    # not the CDC app's Iceberg tables: their files are on HDFS, which a backup does not hold; after a
    # restore the app unregisters them and makes them anew from the source (lake.forget_lost_tables)
    cdc = settings.cdc
    tables = trino_rows(
        settings,
        "SELECT table_schema, table_name FROM hive.information_schema.tables "
        "WHERE table_schema <> 'information_schema' "
        f"AND NOT (table_schema IN ('{cdc.raw_namespace}', '{cdc.trusted_namespace}') "
        f"AND (table_name LIKE '{cdc.database}!_%' ESCAPE '!' OR table_name = '{cdc.dead_letter_table}'))",
    )
    with airflow_client(settings) as client:
        runs = (
            client.get(f"/dags/{DAG}/dagRuns", params={"limit": 1000}).raise_for_status().json()["dag_runs"]
        )
    subjects = httpx.get(f"{settings.registry_url}/subjects", timeout=30).raise_for_status().json()
    return {
        "tables": sorted(map(tuple, tables)),
        # a run still going when the backup was taken may move on after the restore: finished ones may not
        "dag_runs": sorted(
            (run["dag_run_id"], run["logical_date"], run["state"] if run["state"] in FINISHED else "")
            for run in runs
        ),
        "subjects": sorted(subjects),
        "dashboards": superset_dashboards(settings),
    }


def set_aside(stack: Stack) -> Path:
    """``dataplat reset`` as the platform sees it, reversibly: stop, move state into a side folder."""
    stack.down()
    home = stack.paths.home
    aside = home / f"it-backup-aside-{uuid.uuid4().hex[:8]}"
    aside.mkdir()
    for name in MOVED:
        if (home / name).exists():
            (home / name).rename(aside / name)
    stack.paths.secrets_file.rename(aside / stack.paths.secrets_file.name)
    return aside


def put_back(stack: Stack, aside: Path) -> None:
    """Stop whatever runs on the restored state, drop it, move the original state back, start it."""
    stack.down()
    home = stack.paths.home
    for name in MOVED:
        shutil.rmtree(home / name, ignore_errors=True)
        if (aside / name).exists():
            (aside / name).rename(home / name)
    (aside / stack.paths.secrets_file.name).replace(stack.paths.secrets_file)
    aside.rmdir()
    stack.up()


@pytest.fixture
def marked(stack: Stack, settings: Settings, registry: SchemaRegistryClient) -> Iterator[dict[str, str]]:
    """A subject, a table and a (paused, queued) DAG run of this test's own, removed afterwards."""
    name = f"it-backup-{uuid.uuid4().hex[:8]}"
    registry.register_schema(f"{name}-value", Schema(CLICK_SCHEMA, "AVRO"))
    trino_rows(settings, "CREATE SCHEMA IF NOT EXISTS hive.it_backup")
    trino_rows(settings, "CREATE TABLE IF NOT EXISTS hive.it_backup.kept (id integer)")
    with airflow_client(settings) as client:
        run = client.post(f"/dags/{DAG}/dagRuns", json={"logical_date": None, "conf": {"count": 1}})
        run_id = run.raise_for_status().json()["dag_run_id"]
    yield {"subject": f"{name}-value", "run_id": run_id}
    with airflow_client(settings) as client:
        client.delete(f"/dags/{DAG}/dagRuns/{run_id}")
    for permanent in (False, True):
        registry.delete_subject(f"{name}-value", permanent=permanent)


def test_backup_reset_restore_brings_back_the_metadata(
    stack: Stack, settings: Settings, marked: dict[str, str], tmp_path: Path
) -> None:
    before = snapshot(settings)
    assert marked["subject"] in before["subjects"] and ("it_backup", "kept") in before["tables"]
    assert any(run[0] == marked["run_id"] for run in before["dag_runs"])
    quiet = Console(file=io.StringIO())
    archive = backup.backup(settings, quiet, tmp_path / "platform.tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600
    aside = set_aside(stack)
    try:
        restored = backup.restore(settings, quiet, archive)
        assert set(restored.databases) >= {"airflow", "metastore", "superset"}
        assert "registry/registry.db" in restored.files
        stack.up()
        after = snapshot(settings)
        assert after["tables"] == before["tables"]
        assert after["dag_runs"] == before["dag_runs"]
        assert after["subjects"] == before["subjects"]
        assert after["dashboards"] == before["dashboards"]
    finally:
        put_back(stack, aside)
