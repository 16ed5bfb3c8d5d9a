"""A user's own PySpark script with plain ``spark-submit`` after ``eval "$(dataplat env)"``."""

from __future__ import annotations

import shlex
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from dataplat import sql_shell
from dataplat.paths import venv_bin
from dataplat.runtime import Stack
from dataplat.settings import REPO_ROOT, Settings

SCRIPT = REPO_ROOT / "spark_apps" / "examples" / "page_activity.py"


@pytest.fixture
def databases(stack: Stack, settings: Settings) -> Iterator[tuple[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    source, target = f"it_src_{suffix}", f"it_out_{suffix}"
    connection = sql_shell.connect(settings, catalog="hive", schema="default", user="it-spark")
    cursor = connection.cursor()
    yield source, target
    for table in (f"{source}.events", f"{target}.page_activity"):
        for statement in (
            f"DROP TABLE IF EXISTS hive.{table}",
            f"DROP SCHEMA IF EXISTS hive.{table.split('.')[0]}",
        ):
            cursor.execute(statement)
            cursor.fetchall()


def test_user_script_reads_and_writes_lake_tables(settings: Settings, databases: tuple[str, str]) -> None:
    source, target = databases
    cursor = sql_shell.connect(settings, catalog="hive", schema="default", user="it-spark").cursor()
    for sql in (
        f"CREATE SCHEMA hive.{source}",
        f"CREATE TABLE hive.{source}.events AS SELECT * FROM (VALUES ('ann', '/a'), ('bob', '/a'), "
        "('ann', '/b')) AS t(username, page)",
    ):
        cursor.execute(sql)
        cursor.fetchall()
    dataplat = shlex.quote(str(venv_bin() / "dataplat"))
    command = (
        f'eval "$({dataplat} env)" && spark-submit {shlex.quote(str(SCRIPT))} '
        f"{source}.events {target}.page_activity"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"wrote 2 pages to {target}.page_activity" in done.stdout
    cursor.execute(f"SELECT page, events, users, share FROM hive.{target}.page_activity ORDER BY page")
    assert cursor.fetchall() == [["/a", 2, 2, 0.6667], ["/b", 1, 1, 0.3333]]
