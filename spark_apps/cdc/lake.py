"""The Iceberg tables: DDL, the idempotent raw and dead-letter appends, the trusted MERGE, schema state.

Every write is idempotent by content, so a micro-batch Spark runs again after a crash, or change
events Kafka Connect sends again after a restart, change nothing:

- raw ``<db>_<table>_changes``: ``MERGE ... WHEN NOT MATCHED THEN INSERT`` on (lsn, key, op), with
  the batch's LSN range pushed down to the target's scan (files are pruned by their LSN bounds);
- dead letters: the same on (topic, partition, offset);
- trusted ``<db>_<table>``: a key's row only moves forward: a streamed change supersedes a snapshot
  read, otherwise the larger LSN wins (see :func:`merge_trusted_sql` and :mod:`spark_apps.cdc.changes`).

Trusted tables are merge-on-read (position deletes): a batch that updates a few rows spread over
the table writes one small delete file instead of rewriting every data file it touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_apps.cdc.changes import META, Target, q

RAW_COLUMNS = (
    "op string, lsn bigint, tx_id bigint, source_ts timestamp, snapshot string, key string, "
    "before string, after string, kafka_topic string, kafka_partition int, kafka_offset bigint, "
    "batch_id bigint, landed_at timestamp"
)
DEAD_LETTER_COLUMNS = (
    "kafka_topic string, kafka_partition int, kafka_offset bigint, table_name string, reason string, "
    "key string, value string, batch_id bigint, landed_at timestamp"
)
COMMON_PROPERTIES = {
    "format-version": "2",
    "write.metadata.delete-after-commit.enabled": "true",  # a commit every few seconds
    "write.metadata.previous-versions-max": "20",
}
TRUSTED_PROPERTIES = {
    **COMMON_PROPERTIES,
    "write.merge.mode": "merge-on-read",
    "write.update.mode": "merge-on-read",
    "write.delete.mode": "merge-on-read",
}
SCHEMA_ID = "cdc.schema-id"  # the source schema the trusted table follows (xxhash64 of its JSON)
SCHEMA_POSITION = "cdc.schema-position"  # "phase:lsn" of the newest event of that schema seen
PRIMARY_KEY = "cdc.primary-key"  # comma-separated


@dataclass(frozen=True)
class Layout:
    """Names of the lake's tables.

    Raw ``<catalog>.<raw>.<db>_<table>_changes``, trusted ``<catalog>.<trusted>.<db>_<table>``, dead
    letters ``<catalog>.<raw>.<dead_letter_table>``; every part is a plain identifier (see the options).
    """

    catalog: str
    raw_namespace: str
    trusted_namespace: str
    database: str  # prefix of the table names (the operational database's name)
    dead_letter_table: str

    def raw(self, table: str) -> str:
        return f"{self.catalog}.{self.raw_namespace}.{self.database}_{table}_changes"

    def trusted(self, table: str) -> str:
        return f"{self.catalog}.{self.trusted_namespace}.{self.database}_{table}"

    @property
    def dead_letters(self) -> str:
        return f"{self.catalog}.{self.raw_namespace}.{self.dead_letter_table}"


def _properties(properties: Mapping[str, str]) -> str:
    return ", ".join(f"'{key}' = '{value}'" for key, value in properties.items())


def setup_ddl(layout: Layout, tables: Iterable[str]) -> list[str]:
    """Namespaces, raw tables and the dead-letter table (trusted tables follow the first events)."""
    statements = [
        f"CREATE NAMESPACE IF NOT EXISTS {layout.catalog}.{layout.raw_namespace}",
        f"CREATE NAMESPACE IF NOT EXISTS {layout.catalog}.{layout.trusted_namespace}",
    ]
    statements += [
        f"CREATE TABLE IF NOT EXISTS {layout.raw(table)} ({RAW_COLUMNS}) USING iceberg "
        f"PARTITIONED BY (days(source_ts)) TBLPROPERTIES ({_properties(COMMON_PROPERTIES)})"
        for table in tables
    ]
    statements.append(
        f"CREATE TABLE IF NOT EXISTS {layout.dead_letters} ({DEAD_LETTER_COLUMNS}) USING iceberg "
        f"PARTITIONED BY (days(landed_at)) TBLPROPERTIES ({_properties(COMMON_PROPERTIES)})"
    )
    return statements


def _view(frame: DataFrame, name: str) -> SparkSession:
    frame.createOrReplaceTempView(name)
    return frame.sparkSession


def _view_name(table: str) -> str:
    """A temporary view name per target table (tables are merged concurrently)."""
    return "cdc_batch_" + "".join(c if c.isalnum() else "_" for c in table)


def append_raw(frame: DataFrame, table: str, lsn_range: tuple[int, int]) -> None:
    """Insert the batch's events the raw table does not hold yet (same lsn, key and op)."""
    low, high = lsn_range
    view = _view_name(table)
    _view(frame, view).sql(
        f"MERGE INTO {table} t USING {view} s "
        f"ON t.lsn = s.lsn AND t.key = s.key AND t.op = s.op AND t.lsn BETWEEN {int(low)} AND {int(high)} "
        "WHEN NOT MATCHED THEN INSERT *"
    )


def append_dead_letters(frame: DataFrame, table: str, offset_range: tuple[int, int]) -> None:
    """Insert the batch's dead letters the table does not hold yet (same topic, partition, offset)."""
    low, high = offset_range
    unique = frame.dropDuplicates(["kafka_topic", "kafka_partition", "kafka_offset"])
    view = _view_name(table)
    _view(unique, view).sql(
        f"MERGE INTO {table} t USING {view} s "
        "ON t.kafka_topic = s.kafka_topic AND t.kafka_partition = s.kafka_partition "
        f"AND t.kafka_offset = s.kafka_offset AND t.kafka_offset BETWEEN {int(low)} AND {int(high)} "
        "WHEN NOT MATCHED THEN INSERT *"
    )


def newer(phase: str, lsn: str) -> str:
    """SQL: the source event at (``phase``, ``lsn``) supersedes the target row ``t``'s event.

    A streamed change (phase 1) supersedes a snapshot read (``t._op = 'r'``); otherwise the larger LSN.
    """
    return f"(({phase} = 1 AND t._op = 'r') OR {lsn} > t._lsn)"


def merge_trusted_sql(table: str, view: str, target: Target) -> str:
    """The trusted MERGE: a key's row moves forward only (:func:`newer`).

    - ``>`` not ``>=``: an event at the row's own LSN is that same event again (a replay, or the same
      snapshot read twice): applying it again would change nothing, or undo a TOASTed column's value.
    - a delete removes the row; an update replaces every column except TOASTed ones, which keep the
      stored value unless the batch carries a real value newer than the row;
    - an event for a key the table lacks inserts it, unless it is a delete.
    """
    toast_at = {name: target.slot(name) for name in target.toastable}
    on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in target.key)
    moves = newer("s._phase", "s._lsn")
    sets = []
    for name in target.names:
        if target.is_key(name):
            continue
        if name in toast_at:
            i = toast_at[name]
            fresh = f"s._vl{i} IS NOT NULL AND {newer(f's._vp{i}', f's._vl{i}')}"
            sets.append(f"{q(name)} = CASE WHEN {fresh} THEN s.{q(name)} ELSE t.{q(name)} END")
        else:
            sets.append(f"{q(name)} = s.{q(name)}")
    sets += [f"{meta} = s.{meta}" for meta, _ in META]
    columns = [q(name) for name in target.names] + [meta for meta, _ in META]
    return (
        f"MERGE INTO {table} t USING {view} s ON {on} "  # noqa: S608 - identifiers quoted, no values
        f"WHEN MATCHED AND s._op = 'd' AND {moves} THEN DELETE "
        f"WHEN MATCHED AND {moves} THEN UPDATE SET {', '.join(sets)} "
        f"WHEN NOT MATCHED AND s._op <> 'd' THEN INSERT ({', '.join(columns)}) "
        f"VALUES ({', '.join('s.' + c for c in columns)})"
    )


def merge_trusted(frame: DataFrame, table: str, target: Target) -> None:
    view = _view_name(table)
    _view(frame, view).sql(merge_trusted_sql(table, view, target))


@dataclass
class TrustedState:
    """What the app knows of a trusted table: its columns, key and the source schema it follows."""

    columns: dict[str, str]  # name -> Spark type, without META, in table order
    key: tuple[str, ...]
    schema_id: int | None = None
    position: tuple[int, int] = (-1, -1)  # (phase, lsn) of the newest event of that schema
    properties: dict[str, str] = field(default_factory=dict)

    def target(self, toastable: Iterable[str] = ()) -> Target:
        wanted = {name.lower() for name in toastable}
        return Target(
            columns=tuple(self.columns.items()),
            key=self.key,
            toastable=tuple(name for name in self.columns if name.lower() in wanted and name not in self.key),
        )

    def schema_properties(self) -> dict[str, str]:
        return {
            SCHEMA_ID: str(self.schema_id),
            SCHEMA_POSITION: f"{self.position[0]}:{self.position[1]}",
            PRIMARY_KEY: ",".join(self.key),
        }


def load_trusted(spark: SparkSession, table: str) -> TrustedState | None:
    """The state of an existing trusted table from its schema and properties (None: no table yet)."""
    if not spark.catalog.tableExists(table):
        return None
    meta = {name for name, _ in META}
    columns = {
        f.name: f.dataType.simpleString() for f in spark.table(table).schema.fields if f.name not in meta
    }
    properties = {row[0]: row[1] for row in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    phase, _, lsn = properties.get(SCHEMA_POSITION, "-1:-1").partition(":")
    schema_id = properties.get(SCHEMA_ID)
    key = tuple(k for k in properties.get(PRIMARY_KEY, "").split(",") if k)
    return TrustedState(
        columns=columns,
        key=key,
        schema_id=int(schema_id) if schema_id not in (None, "None") else None,
        position=(int(phase), int(lsn)),
        properties=properties,
    )


def create_trusted(spark: SparkSession, table: str, state: TrustedState) -> None:
    columns = [f"{q(name)} {kind}" for name, kind in state.columns.items()]
    columns += [f"{meta} {kind}" for meta, kind in META]
    properties = {**TRUSTED_PROPERTIES, **state.schema_properties()}
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)}) USING iceberg "
        f"TBLPROPERTIES ({_properties(properties)})"
    )


def drop_ddl(table: str, drop: Iterable[str]) -> str | None:
    """The statement dropping columns the source dropped (None: none to drop).

    A Hive Metastore 2.x with ``hive.metastore.disallow.incompatible.col.type.changes=true`` (its
    default) refuses to drop a column that is not the last: it compares column types by position.
    """
    dropped = [q(name) for name in drop]
    return f"ALTER TABLE {table} DROP COLUMNS ({', '.join(dropped)})" if dropped else None


def evolve_ddl(
    table: str,
    add: Iterable[tuple[str, str]],
    widen: Iterable[tuple[str, str]],
    state: TrustedState,
) -> list[str]:
    """ALTER TABLE statements adding and widening columns for a new source schema, its properties last."""
    statements = []
    added = [f"{q(name)} {kind}" for name, kind in add]
    if added:
        statements.append(f"ALTER TABLE {table} ADD COLUMNS ({', '.join(added)})")
    statements += [f"ALTER TABLE {table} ALTER COLUMN {q(name)} TYPE {kind}" for name, kind in widen]
    statements.append(f"ALTER TABLE {table} SET TBLPROPERTIES ({_properties(state.schema_properties())})")
    return statements


def forget_lost_tables(spark: SparkSession, catalog: str, tables: Iterable[str]) -> list[str]:
    """Unregister tables whose current metadata file is gone from the lake; returns their names.

    That is a metastore restored (``dataplat restore``) onto a lake without the tables' files: every
    read of such a table fails, so the app would fail forever. Their catalog entries are dropped
    without touching files (Iceberg's ``dropTable(purge=false)`` reads no metadata) and the app makes
    the tables anew from the change events it reads.
    """
    from py4j.protocol import Py4JJavaError

    jvm: Any = spark._jvm
    manager = spark._jsparkSession.sessionState().catalogManager()  # type: ignore[attr-defined]
    iceberg = manager.catalog(catalog).icebergCatalog()
    lost = []
    for table in tables:
        identifier = jvm.org.apache.iceberg.catalog.TableIdentifier.parse(table.split(".", 1)[1])
        try:
            iceberg.loadTable(identifier)
        except Py4JJavaError as error:
            kind = error.java_exception.getClass().getName()
            if kind != "org.apache.iceberg.exceptions.NotFoundException":
                continue  # NoSuchTableException: not made yet; anything else shows up where it is used
            iceberg.dropTable(identifier, False)
            lost.append(table)
    return lost
