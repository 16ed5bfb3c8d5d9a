"""A data directory made before the metadata moved to PostgreSQL is refused before anything starts.

Such a directory holds Airflow's and Superset's SQLite files and the metastore's Derby database, and
no PostgreSQL cluster. This version does not read them, and starting on it would leave a catalog, DAG
runs and dashboards that silently vanished, so ``up`` stops and says which command to run.
"""

from __future__ import annotations

from pathlib import Path

from dataplat.errors import DataplatError
from dataplat.paths import Paths

# files of the earlier layout, relative to the data folder -> what they held
LEGACY = {
    "airflow/airflow.db": "Airflow's SQLite database (DAG runs, backfills)",
    "metastore/metastore_db": "the Hive Metastore's Derby database (table definitions)",
    "superset/superset.db": "Superset's SQLite database (dashboards, charts, users)",
}


class LegacyDataDirectory(DataplatError):
    """The data directory predates the platform's PostgreSQL; nothing was started or changed."""

    def __init__(self, home: Path, found: list[str]) -> None:
        self.home, self.found = home, found
        listed = "\n".join(f"  - data/{name}: {LEGACY[name]}" for name in found)
        super().__init__(
            f"{home} was made before the platform's metadata moved to PostgreSQL; this version "
            f"does not read:\n{listed}\n"
            "Nothing was started or changed. Either start afresh, which deletes all data, logs and "
            f"secrets under {home} (downloads are kept):\n"
            "  dataplat reset && dataplat up\n"
            "or keep that data with the earlier version of the platform, and use another data "
            "directory for this one (DATAPLAT_HOME=/new/folder dataplat up). There is no "
            "migration command: Airflow, the metastore and Superset have no SQLite/Derby-to-PostgreSQL "
            "copy of their own."
        )


def legacy_files(paths: Paths) -> list[str]:
    """Earlier-layout files present in a data directory that has no PostgreSQL cluster yet."""
    if (paths.data / "postgres" / "PG_VERSION").exists():
        return []
    return [name for name in LEGACY if (paths.data / name).exists()]


def check_data_dir(paths: Paths) -> None:
    """Raise :class:`LegacyDataDirectory` when ``paths`` is a data directory of the earlier layout."""
    found = legacy_files(paths)
    if found:
        raise LegacyDataDirectory(paths.home, found)
