"""The change-data-capture source database as its owner role connects to it."""

from __future__ import annotations

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
