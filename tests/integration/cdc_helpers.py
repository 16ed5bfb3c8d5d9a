"""Helpers of the change-data-capture tests: PostgreSQL as the truth, Trino's lake tables compared to it.

Equality is checked in Trino, row for row, both ways (``EXCEPT`` each side), the lake's columns cast
to the type Trino's ``postgresql`` catalog gives the source column, so a decimal or a timestamp that
lost precision on the way counts as a difference.
"""

from __future__ import annotations

import time
from contextlib import closing
from typing import Any

from dataplat import sql_shell
from dataplat.cdc_source import raw_table, source_params, trusted_table
from dataplat.settings import Settings

USER = "it-cdc"
META_COLUMNS = ("_lsn", "_source_ts", "_op")


def condo(settings: Settings) -> Any:
    """psycopg2 connection to the operational database as its owner (autocommit)."""
    import psycopg2

    connection = psycopg2.connect(**source_params(settings))
    connection.autocommit = True
    return connection


def execute(settings: Settings, *statements: str) -> None:
    with closing(condo(settings)) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def trino_rows(settings: Settings, sql: str) -> list[list[Any]]:
    with closing(
        sql_shell.connect(settings, catalog="iceberg", schema="information_schema", user=USER)
    ) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows: list[list[Any]] = cursor.fetchall()
    return rows


trusted = trusted_table
raw = raw_table


def source_columns(settings: Settings, table: str) -> list[tuple[str, str]]:
    """(column, Trino type) of the source table, as Trino's ``postgresql`` catalog sees it."""
    rows = trino_rows(
        settings,
        "SELECT column_name, data_type FROM postgresql.information_schema.columns "
        f"WHERE table_schema = '{settings.cdc.schema_name}' AND table_name = '{table}' "
        "ORDER BY ordinal_position",
    )
    return [(str(name), str(kind)) for name, kind in rows]


def lake_columns(settings: Settings, table: str) -> list[str]:
    rows = trino_rows(
        settings,
        "SELECT column_name FROM iceberg.information_schema.columns "
        f"WHERE table_schema = '{settings.cdc.trusted_namespace}' "
        f"AND table_name = '{settings.cdc.database}_{table}' ORDER BY ordinal_position",
    )
    return [str(name) for (name,) in rows]


def differences(settings: Settings, table: str) -> str | None:
    """None when the lake's current state equals PostgreSQL's table; else what differs."""
    columns = source_columns(settings, table)
    lake = set(lake_columns(settings, table))
    if not lake:
        return f"{trusted(settings, table)} does not exist yet"
    missing = [name for name, _ in columns if name not in lake]
    extra = sorted(lake - {name for name, _ in columns} - set(META_COLUMNS))
    if missing or extra:
        return f"{table}: columns missing in the lake {missing}, extra {extra}"
    source = f"postgresql.{settings.cdc.schema_name}.{table}"
    pg_side = ", ".join(f'"{name}"' for name, _ in columns)
    lake_side = ", ".join(f'CAST("{name}" AS {kind}) AS "{name}"' for name, kind in columns)
    only_pg, only_lake, pg_count, lake_count = trino_rows(
        settings,
        f"SELECT (SELECT count(*) FROM (SELECT {pg_side} FROM {source} EXCEPT "
        f"SELECT {lake_side} FROM {trusted(settings, table)})), "
        f"(SELECT count(*) FROM (SELECT {lake_side} FROM {trusted(settings, table)} EXCEPT "
        f"SELECT {pg_side} FROM {source})), "
        f"(SELECT count(*) FROM {source}), (SELECT count(*) FROM {trusted(settings, table)})",
    )[0]
    if only_pg or only_lake or pg_count != lake_count:
        return (
            f"{table}: {only_pg} rows only in PostgreSQL, {only_lake} only in the lake "
            f"(PostgreSQL {pg_count} rows, lake {lake_count})"
        )
    return None


def wait_in_sync(settings: Settings, tables: tuple[str, ...] | None = None, timeout_s: float = 180) -> float:
    """Seconds until every table's lake state equals PostgreSQL's; fails with the differences."""
    tables = tables or settings.cdc.tables
    start = time.monotonic()
    problems: list[str] = []
    while time.monotonic() - start < timeout_s:
        problems = [problem for table in tables if (problem := differences(settings, table))]
        if not problems:
            return time.monotonic() - start
        time.sleep(3)
    raise AssertionError(f"lake not in step with PostgreSQL after {timeout_s:.0f} s: {problems}")


def raw_duplicates(settings: Settings, table: str) -> int:
    """Change events landed more than once in the raw table (same LSN, key and operation)."""
    rows = trino_rows(
        settings,
        f"SELECT count(*) FROM (SELECT lsn, key, op FROM {raw(settings, table)} "
        "GROUP BY lsn, key, op HAVING count(*) > 1)",
    )
    return int(rows[0][0])
