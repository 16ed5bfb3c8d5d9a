"""The change-data-capture source database as its owner sees it: connection and Debezium signals.

An incremental snapshot (Debezium's ``execute-snapshot`` signal, written to the signal table the
connector watches) re-reads tables in primary-key chunks while streaming goes on: the way to load
a table that already held rows before it was captured, or to repair a lake table.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from contextlib import closing
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


def snapshot_signal(schema: str, tables: Sequence[str]) -> tuple[str, str, str]:
    """(id, type, data) of an incremental ``execute-snapshot`` signal for ``schema.table``s."""
    data = {"data-collections": [f"{schema}.{table}" for table in tables], "type": "incremental"}
    return f"dataplat-{uuid.uuid4()}", "execute-snapshot", json.dumps(data)


def request_snapshot(settings: Settings, tables: Sequence[str]) -> str:
    """Ask the connector for an incremental snapshot of ``tables``; returns the signal's id."""
    import psycopg2
    from psycopg2 import sql

    unknown = sorted(set(tables) - set(settings.cdc.tables))
    if unknown:
        raise ValueError(f"not captured: {', '.join(unknown)} (captured: {', '.join(settings.cdc.tables)})")
    signal_id, kind, data = snapshot_signal(settings.cdc.schema_name, tables)
    table = sql.Identifier(settings.cdc.schema_name, settings.cdc.signal_table)
    connection = psycopg2.connect(**source_params(settings))
    with closing(connection), connection, connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, %s, %s)").format(table),
            (signal_id, kind, data),
        )
    return signal_id
