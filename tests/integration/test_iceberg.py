"""Iceberg tables written by Trino and by Spark through the metastore, its catalog in PostgreSQL.

The metastore's schema comes from Hive's schema tool (transaction and lock tables included), so both
engines' commits take real table locks: no ``iceberg.engine.hive.lock-enabled=false`` anywhere.
"""

from __future__ import annotations

import shlex
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dataplat import sql_shell
from dataplat.paths import paths_for, venv_bin
from dataplat.runtime import Stack
from dataplat.services import postgres
from dataplat.settings import Settings

USER = "it-iceberg"


def run(cursor: Any, sql: str) -> list[list[Any]]:
    cursor.execute(sql)
    rows: list[list[Any]] = cursor.fetchall()
    return rows


def trino(settings: Settings) -> Any:
    return sql_shell.connect(settings, catalog="iceberg", schema="information_schema", user=USER).cursor()


@pytest.fixture
def schema(stack: Stack, settings: Settings) -> Iterator[str]:
    """A fresh schema of Trino's ``iceberg`` catalog, dropped with its tables afterwards."""
    name = f"it_iceberg_{uuid.uuid4().hex[:8]}"
    cursor = trino(settings)
    run(cursor, f"CREATE SCHEMA iceberg.{name}")
    yield name
    for (table,) in run(cursor, f"SHOW TABLES FROM iceberg.{name}"):
        run(cursor, f"DROP TABLE iceberg.{name}.{table}")
    run(cursor, f"DROP SCHEMA iceberg.{name}")


def metastore_db(settings: Settings) -> Any:
    """psycopg2 connection to the metastore's own database, as its own role."""
    import psycopg2

    db = postgres.METASTORE
    return psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=db.role,
        password=postgres.password(paths_for(settings), db),
        dbname=db.name,
        connect_timeout=5,
    )


def test_trino_inserts_into_an_iceberg_table_twice(settings: Settings, schema: str) -> None:
    cursor = trino(settings)
    run(cursor, f"CREATE TABLE iceberg.{schema}.events (id BIGINT, page VARCHAR)")
    assert run(cursor, f"INSERT INTO iceberg.{schema}.events VALUES (1, '/a'), (2, '/b')") == [[2]]
    assert run(cursor, f"INSERT INTO iceberg.{schema}.events VALUES (3, '/c')") == [[1]]
    rows = run(cursor, f"SELECT id, page FROM iceberg.{schema}.events ORDER BY id")
    assert rows == [[1, "/a"], [2, "/b"], [3, "/c"]]
    properties = run(cursor, f'SELECT key, value FROM iceberg.{schema}."events$properties"')
    assert ["format-version", "2"] in properties


def test_concurrent_trino_inserts_all_commit(settings: Settings, schema: str) -> None:
    """Writers racing for the table's lock wait for it and retry; no commit is lost."""
    cursor = trino(settings)
    run(cursor, f"CREATE TABLE iceberg.{schema}.counter (writer INTEGER, i INTEGER)")

    def write(writer: int) -> None:
        own = trino(settings)  # one connection per writer
        for i in range(3):
            run(own, f"INSERT INTO iceberg.{schema}.counter VALUES ({writer}, {i})")

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(write, range(3)))
    rows = run(cursor, f"SELECT writer, count(*) FROM iceberg.{schema}.counter GROUP BY writer ORDER BY 1")
    assert rows == [[0, 3], [1, 3], [2, 3]]


SPARK_MERGE = """\
import sys

from pyspark.sql import SparkSession

table = sys.argv[1]
spark = SparkSession.builder.appName("it-iceberg-merge").getOrCreate()
spark.sql(
    "CREATE OR REPLACE TEMP VIEW changes AS SELECT * FROM VALUES "
    "(1, 'ann-2', 20, 'u'), (2, 'stale', 5, 'u'), (3, CAST(NULL AS STRING), 20, 'd'), (4, 'dan', 20, 'c') "
    "AS t(id, name, lsn, op)"
)
spark.sql(f'''
    MERGE INTO {table} t USING changes s ON t.id = s.id
    WHEN MATCHED AND s.op = 'd' AND s.lsn > t.lsn THEN DELETE
    WHEN MATCHED AND s.lsn > t.lsn THEN UPDATE SET t.name = s.name, t.lsn = s.lsn
    WHEN NOT MATCHED AND s.op <> 'd' THEN INSERT (id, name, lsn) VALUES (s.id, s.name, s.lsn)
''')
print("merged rows:", spark.table(table).count())
spark.stop()
"""


def test_spark_merges_into_an_iceberg_table_trino_sees(
    settings: Settings, schema: str, tmp_path: Path
) -> None:
    """Spark through ``dataplat env``'s defaults (catalog ``iceberg``, Iceberg's SQL extensions)."""
    cursor = trino(settings)
    table = f"iceberg.{schema}.people"
    run(cursor, f"CREATE TABLE {table} (id INTEGER, name VARCHAR, lsn BIGINT) WITH (format_version = 2)")
    run(cursor, f"INSERT INTO {table} VALUES (1, 'ann', 10), (2, 'bob', 10), (3, 'cy', 10)")
    script = tmp_path / "merge.py"
    script.write_text(textwrap.dedent(SPARK_MERGE))
    dataplat = shlex.quote(str(venv_bin() / "dataplat"))
    command = f'eval "$({dataplat} env)" && spark-submit {shlex.quote(str(script))} {table}'
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "merged rows: 3" in done.stdout
    assert "lock-enabled" not in done.stderr  # nobody turned Iceberg's locks off
    rows = run(cursor, f"SELECT id, name, lsn FROM {table} ORDER BY id")
    assert rows == [[1, "ann-2", 20], [2, "bob", 10], [4, "dan", 20]]  # lsn guard kept bob, cy deleted


def test_the_catalog_lives_in_postgresql(settings: Settings, schema: str) -> None:
    cursor = trino(settings)
    run(cursor, f"CREATE TABLE iceberg.{schema}.located (id BIGINT)")
    run(cursor, f"INSERT INTO iceberg.{schema}.located VALUES (1)")
    with closing(metastore_db(settings)) as connection, connection.cursor() as pg:
        pg.execute(
            'SELECT t."TBL_NAME", p."PARAM_VALUE" FROM "TBLS" t JOIN "DBS" d ON t."DB_ID" = d."DB_ID" '
            'JOIN "TABLE_PARAMS" p ON p."TBL_ID" = t."TBL_ID" AND p."PARAM_KEY" = %s '
            'WHERE d."NAME" = %s AND t."TBL_NAME" = %s',
            ("table_type", schema, "located"),
        )
        assert pg.fetchall() == [("located", "ICEBERG")]
        pg.execute('SELECT "SCHEMA_VERSION" FROM "VERSION"')
        assert pg.fetchall() == [("2.3.0",)]  # made by Hive's schema tool, not DataNucleus
        pg.execute("SELECT nl_next FROM next_lock_id")  # Hive's lock tables, used by the commits
        (next_lock,) = pg.fetchone()
        assert next_lock > 2
        pg.execute("SELECT count(*) FROM hive_locks WHERE hl_db = %s", (schema,))
        assert pg.fetchone() == (0,)  # every commit released its lock
