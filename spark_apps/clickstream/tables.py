"""The clickstream tables: Hive DDL (run by Spark on the metastore) and the users' Trino view.

``clickstream_increments`` holds one file per (micro-batch, start_date); ``clickstream_counts``
is a Trino view summing them (Trino cannot read views Spark creates: their text is Spark SQL).
"""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "clickstream"
INCREMENTS = "clickstream_increments"
QUARANTINE = "quarantine"
COUNTS_VIEW = "clickstream_counts"


@dataclass(frozen=True)
class Layout:
    """Where the tables live: ``<lake.root>/trusted/<database>/<table>`` on the default FS."""

    root: str  # e.g. hdfs://127.0.0.1:8020/lake/trusted/clickstream
    database: str = DATABASE

    @property
    def increments(self) -> str:
        return f"{self.root}/increments"

    @property
    def quarantine(self) -> str:
        return f"{self.root}/quarantine"


def layout_for(hdfs_uri: str, lake_root: str, database: str = DATABASE) -> Layout:
    return Layout(f"{hdfs_uri.rstrip('/')}{lake_root.rstrip('/')}/trusted/{database}", database)


def ddl(layout: Layout) -> list[str]:
    """Idempotent Hive DDL (Parquet, external, partitioned) for Spark SQL."""
    db = layout.database
    return [
        f"CREATE DATABASE IF NOT EXISTS {db} LOCATION '{layout.root}'",
        f"""CREATE EXTERNAL TABLE IF NOT EXISTS {db}.{INCREMENTS} (
            event_name STRING, page STRING, username STRING, `count` BIGINT,
            window_start TIMESTAMP, window_end TIMESTAMP, start_time STRING,
            batch_id BIGINT COMMENT 'micro-batch id (compacted rows: last batch folded in)',
            compacted BOOLEAN)
        COMMENT 'per-micro-batch increments of 5 s window counts; query clickstream_counts'
        PARTITIONED BY (start_date STRING) STORED AS PARQUET LOCATION '{layout.increments}'""",
        f"""CREATE EXTERNAL TABLE IF NOT EXISTS {db}.{QUARANTINE} (
            topic STRING, kafka_partition INT, kafka_offset BIGINT, kafka_timestamp TIMESTAMP,
            schema_id BIGINT, reason STRING, raw_base64 STRING, batch_id BIGINT)
        COMMENT 'clickstream records that could not be decoded, with their raw bytes'
        PARTITIONED BY (ingest_date STRING) STORED AS PARQUET LOCATION '{layout.quarantine}'""",
    ]


def view_sql(catalog: str = "hive", database: str = DATABASE) -> str:
    """Trino view: per start_date, the newest compacted rows plus the increments written after them.

    One scan of the table (a window, not a self-join), so a query sees one consistent listing of
    each partition even while compaction swaps files.
    """
    table = f"{catalog}.{database}.{INCREMENTS}"
    return f"""CREATE OR REPLACE VIEW {catalog}.{database}.{COUNTS_VIEW} SECURITY INVOKER AS
SELECT event_name, page, username, sum("count") AS "count",
       window_start, window_end, start_date, start_time
FROM (
    SELECT i.*, max(CASE WHEN compacted THEN batch_id END) OVER (PARTITION BY start_date) AS through
    FROM {table} AS i
) AS r
WHERE through IS NULL
   OR (compacted AND batch_id = through)
   OR (NOT compacted AND batch_id > through)
GROUP BY event_name, page, username, window_start, window_end, start_date, start_time"""  # noqa: S608
