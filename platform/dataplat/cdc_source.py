"""The change-data-capture source database as its owner role connects to it, and Debezium's signals.

An incremental snapshot (Debezium's ``execute-snapshot`` signal, a row inserted into the signal table
the connector watches) re-reads tables in primary-key chunks while streaming goes on: the way to load
a table that held rows before it was captured, or to repair a lake table. Its reads reach the raw
lake tables as op ``r`` with snapshot ``incremental``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from dataplat.paths import paths_for
from dataplat.services.postgres import cdc_database, password
from dataplat.settings import Settings


def source_params(settings: Settings) -> dict[str, Any]:
    """psycopg2.connect keywords for the source database as its owner role."""
    db = cdc_database(settings)
    return {
        "host": settings.postgres_host,
        "port": settings.postgres_port,
        "dbname": db.name,
        "user": db.role,
        "password": password(paths_for(settings), db),
        "connect_timeout": 10,
    }


class NotCaptured(ValueError):
    """Tables asked for that the connector does not capture."""

    def __init__(self, unknown: Sequence[str], captured: Sequence[str]) -> None:
        self.unknown, self.captured = tuple(unknown), tuple(captured)
        super().__init__(
            f"not a captured table: {', '.join(self.unknown)} (captured: {', '.join(self.captured)})"
        )


@dataclass(frozen=True)
class Signal:
    """A row of Debezium's signal table (columns id, type, data)."""

    id: str
    type: str
    data: str


def snapshot_signal(schema: str, tables: Sequence[str], filters: Mapping[str, str] | None = None) -> Signal:
    """An incremental ``execute-snapshot`` signal for ``schema.table``s.

    ``filters`` (table -> SQL condition) restrict what is re-read (Debezium's ``additional-conditions``,
    whose data collection is a regular expression, hence escaped).
    """
    collections = [f"{schema}.{table}" for table in tables]
    data: dict[str, Any] = {"data-collections": collections, "type": "incremental"}
    if filters:
        data["additional-conditions"] = [
            {"data-collection": re.escape(f"{schema}.{table}"), "filter": condition}
            for table, condition in filters.items()
        ]
    return Signal(f"dataplat-{uuid.uuid4()}", "execute-snapshot", json.dumps(data))


def trusted_table(settings: Settings, table: str) -> str:
    """Trino's name of the lake's current-state table of a captured table."""
    cdc = settings.cdc
    return f"iceberg.{cdc.trusted_namespace}.{cdc.database}_{table}"


def raw_table(settings: Settings, table: str) -> str:
    """Trino's name of the lake's raw change table of a captured table."""
    cdc = settings.cdc
    return f"iceberg.{cdc.raw_namespace}.{cdc.database}_{table}_changes"


def snapshot_reads_sql(raw: str, since_epoch_s: float | None = None) -> str:
    """Trino: the incremental snapshots' reads in a raw table (landed since a moment of Trino's clock)."""
    since = "" if since_epoch_s is None else f" AND landed_at >= from_unixtime({since_epoch_s!r})"
    return f"SELECT count(*) FROM {raw} WHERE op = 'r' AND snapshot = 'incremental'{since}"  # noqa: S608


def captured_tables(settings: Settings, tables: Sequence[str]) -> list[str]:
    """``tables`` without repeats, in order; :class:`NotCaptured` for any the connector does not capture."""
    unknown = [table for table in dict.fromkeys(tables) if table not in settings.cdc.tables]
    if unknown:
        raise NotCaptured(unknown, settings.cdc.tables)
    return list(dict.fromkeys(tables))


def request_snapshot(
    settings: Settings, tables: Sequence[str], filters: Mapping[str, str] | None = None
) -> Signal:
    """Ask the connector for an incremental snapshot of ``tables``; returns the signal written."""
    import psycopg2
    from psycopg2 import sql

    chosen = captured_tables(settings, tables)
    stray = sorted(set(filters or {}) - set(chosen))
    if stray:
        raise ValueError(f"filters for tables not in the snapshot: {', '.join(stray)}")
    signal = snapshot_signal(settings.cdc.schema_name, chosen, filters)
    table = sql.Identifier(settings.cdc.schema_name, settings.cdc.signal_table)
    connection = psycopg2.connect(**source_params(settings))
    with closing(connection), connection, connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, %s, %s)").format(table),
            (signal.id, signal.type, signal.data),
        )
    return signal
