"""Table upkeep run by the app itself between micro-batches: compaction and snapshot expiry.

Every ``interval`` minutes, for each table: ``rewrite_data_files`` (bin-pack small files; on the
merge-on-read trusted tables it also applies accumulated position deletes) and ``expire_snapshots``
older than the retention, keeping the last 5. Neither changes what a query returns. Orphan-file
removal is left out: with a concurrent writer it can delete files of a commit in flight.
A failure is logged and reported, never raised: the stream goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession

log = logging.getLogger("cdc.maintenance")

RETAIN_LAST = 5
DATA_OPTIONS = {"min-input-files": "5"}
DELETE_OPTIONS = {"delete-file-threshold": "5", "remove-dangling-deletes": "true"}


def _map(options: dict[str, str]) -> str:
    return "map(" + ", ".join(f"'{key}', '{value}'" for key, value in options.items()) + ")"


def statements(catalog: str, table: str, older_than: datetime, with_deletes: bool) -> list[str]:
    """The two procedure calls for ``table`` (``<catalog>.<namespace>.<name>``)."""
    identifier = table.split(".", 1)[1] if table.startswith(f"{catalog}.") else table
    options = {**DATA_OPTIONS, **(DELETE_OPTIONS if with_deletes else {})}
    stamp = older_than.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return [
        f"CALL {catalog}.system.rewrite_data_files(table => '{identifier}', options => {_map(options)})",
        f"CALL {catalog}.system.expire_snapshots(table => '{identifier}', "
        f"older_than => TIMESTAMP '{stamp}', retain_last => {RETAIN_LAST})",
    ]


class Maintenance:
    """Runs the upkeep when it is due (the first time one interval after start)."""

    def __init__(
        self,
        catalog: str,
        interval_min: float,
        retention_hours: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog, self.interval_s, self.retention_h, self.clock = (
            catalog,
            interval_min * 60,
            retention_hours,
            clock,
        )
        self.next_at = clock() + self.interval_s
        self.last: dict[str, Any] = {}

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0

    def due(self) -> bool:
        return self.enabled and self.clock() >= self.next_at

    def run(
        self, spark: SparkSession, tables: Sequence[str], merge_on_read: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Compact and expire ``tables``; returns what happened (also kept in ``last``)."""
        started = self.clock()
        older_than = datetime.now(UTC) - timedelta(hours=self.retention_h)
        failures: dict[str, str] = {}
        for table in tables:
            if not spark.catalog.tableExists(table):
                continue
            try:
                for statement in statements(self.catalog, table, older_than, table in merge_on_read):
                    spark.sql(statement).collect()
            except Exception as error:  # noqa: BLE001 - upkeep must never stop the stream
                failures[table] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                log.warning("maintenance of %s failed: %s", table, failures[table])
        self.next_at = self.clock() + self.interval_s
        self.last = {
            "ts": started,
            "duration_s": round(self.clock() - started, 1),
            "tables": len(tables),
            "failures": failures,
        }
        return self.last

    def maybe_run(
        self, spark: SparkSession, tables: Sequence[str], merge_on_read: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        return self.run(spark, tables, merge_on_read) if self.due() else None
