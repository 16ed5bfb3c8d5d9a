"""One table's change events -> typed rows -> the newest event per primary key (the MERGE's source).

Which event of a key wins (here within a batch, in :func:`spark_apps.cdc.lake.merge_trusted_sql`
against the stored row): a streamed change (ops c/u/d, "phase 1") always supersedes a snapshot read
(op ``r``, "phase 0"); otherwise the larger LSN wins. PostgreSQL writes a row's changes in commit
order (a second writer waits for the first's row lock), so among streamed changes the LSN is the
order. A snapshot read is emitted before every change streamed after it, but a transaction running
when the snapshot (or an incremental snapshot's chunk) was read writes its WAL *before* the read's
LSN and commits after it: its change arrives later with a smaller LSN, and must win. A read with a
larger LSN than a stored change is an incremental snapshot repairing the row. Within a batch the
newest event is the maximum of (phase, lsn, kafka partition, offset); the last two only break exact
ties (the same event sent twice).

Unchanged TOASTed values arrive as a placeholder: the newest *real* value of such a column within
the batch travels with its own position (``_vp<slot>``, ``_vl<slot>``) so the MERGE can keep the stored
value when it is newer (see :func:`spark_apps.cdc.lake.merge_trusted_sql`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_apps.cdc.schema import PLACEHOLDER, Field, convert, placeholders, text_struct

META = (("_lsn", "bigint"), ("_source_ts", "timestamp"), ("_op", "string"))  # trusted's own columns
QUOTE_CHARS = 200  # a value quoted in a dead letter's reason is cut there


def q(name: str) -> str:
    """A column name quoted for Spark SQL and ``F.col``."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Target:
    """The trusted table a batch merges into: its source columns, primary key and TOASTable columns."""

    columns: tuple[tuple[str, str], ...]  # (name, Spark type) in table order, without META
    key: tuple[str, ...]
    toastable: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def is_key(self, name: str) -> bool:
        return name.lower() in {k.lower() for k in self.key}

    def slot(self, name: str) -> int:
        """The column's position: names its helper columns (``_t<slot>``, ``_vp<slot>``, ``_vl<slot>``)."""
        return self.names.index(name)

    def only_toasting(self, names: Sequence[str]) -> Target:
        """The same table with only ``names`` treated as TOASTable (those the batch has placeholders in)."""
        return Target(self.columns, self.key, tuple(name for name in self.toastable if name in names))


def typed(
    events: DataFrame,
    fields: Sequence[Field],
    key_fields: Sequence[Field],
    target: Target,
    placeholder: str = PLACEHOLDER,
) -> DataFrame:
    """Events of one value/key schema -> the target's typed columns plus ordering and bookkeeping.

    A column the schema lacks is NULL; the primary key comes from the record key (a delete's ``after``
    is NULL). ``_t<slot>`` flags a placeholder in a TOASTable column; ``_error`` says which values did
    not convert (NULL: all did).
    """
    by_name = {field.name.lower(): field for field in fields}
    key_by_name = {field.name.lower(): field for field in key_fields}
    frame = events.select(
        "*",
        F.from_json(F.col("after"), text_struct(fields)).alias("_a") if fields else F.lit(None).alias("_a"),
        F.from_json(F.col("key"), text_struct(key_fields)).alias("_kv"),
    )
    marks = placeholders(placeholder)
    values: list[Column] = []
    toasts: dict[str, Column] = {}
    errors: list[Column] = []
    for name, kind in target.columns:
        lower = name.lower()
        text: Column | None = None
        field: Field | None = None
        if target.is_key(name) and lower in key_by_name:
            field = key_by_name[lower]
            text = F.col("_kv")[field.name]
        elif lower in by_name:
            field = by_name[lower]
            text = F.col("_a")[field.name]
        if text is None or field is None:
            value, toast = F.lit(None).cast(kind), F.lit(False)
        else:
            toast = text.isin(*marks) if field.toastable else F.lit(False)
            converted = convert(text, field).try_cast(kind)
            value = F.when(~toast, converted)
            quoted = F.substring(text, 1, QUOTE_CHARS)
            failed = F.concat(F.lit(f"column {name}: '"), quoted, F.lit(f"' is not {kind}"))
            errors.append(F.when(text.isNotNull() & ~toast & converted.isNull(), failed))
        if target.is_key(name):
            errors.append(F.when(value.isNull(), F.lit(f"primary key column {name} is null")))
        values.append(value.alias(name))
        toasts[name] = toast
    error = F.concat_ws("; ", *errors) if errors else F.lit("")
    return frame.select(
        *values,
        F.col("lsn").alias("_lsn"),
        F.col("source_ts").alias("_source_ts"),
        F.col("op").alias("_op"),
        F.col("phase").alias("_phase"),
        F.col("key").alias("_key"),
        F.col("kafka_topic").alias("_topic"),
        F.col("kafka_partition").alias("_kp"),
        F.col("kafka_offset").alias("_ko"),
        *[toasts.get(name, F.lit(False)).alias(f"_t{target.slot(name)}") for name in target.toastable],
        F.when(error != "", error).alias("_error"),
    )


def supersedes(event: tuple[int, int], stored: tuple[int, int]) -> bool:
    """Whether an event at (phase, lsn) supersedes one at ``stored`` (the rule above, in Python)."""
    return (event[0] == 1 and stored[0] == 0) or event[1] > stored[1]


def order() -> Column:
    """A key's events' order within a batch: reads, then streamed changes by LSN; duplicates by offset."""
    return F.struct("_phase", "_lsn", "_kp", "_ko")


def latest(rows: DataFrame, target: Target) -> DataFrame:
    """Typed rows without errors -> one row per primary key: its newest event.

    A TOASTable column holds the newest real (non-placeholder) value of the batch, with that event's
    phase and LSN in ``_vp<slot>``/``_vl<slot>`` (all three NULL when the batch has only placeholders).
    """
    toast_at = {name: target.slot(name) for name in target.toastable}
    carried = [q(name) for name in target.names if not target.is_key(name) and name not in toast_at]
    body = F.struct(*carried, "_lsn", "_source_ts", "_op", "_phase", "_key")
    aggregates = [F.max_by(body, order()).alias("_w")]
    for name, i in toast_at.items():
        real = F.when(~F.col(f"_t{i}") & (F.col("_op") != "d"), order())
        value = F.struct(F.col(q(name)).alias("v"), F.col("_phase").alias("p"), F.col("_lsn").alias("l"))
        aggregates.append(F.max_by(value, real).alias(f"_v{i}"))
    grouped = rows.groupBy(*[F.col(q(k)) for k in target.key]).agg(*aggregates)
    columns: list[Column] = []
    for name in target.names:
        if target.is_key(name):
            columns.append(F.col(q(name)))
        elif name in toast_at:
            columns.append(F.col(f"_v{toast_at[name]}")["v"].alias(name))
        else:
            columns.append(F.col("_w")[name].alias(name))
    columns += [F.col("_w")[meta].alias(meta) for meta in ("_lsn", "_source_ts", "_op", "_phase", "_key")]
    for i in toast_at.values():
        columns += [F.col(f"_v{i}")["p"].alias(f"_vp{i}"), F.col(f"_v{i}")["l"].alias(f"_vl{i}")]
    return grouped.select(*columns)


def without_later_deletes(winners: DataFrame, deletes: DataFrame) -> DataFrame:
    """Drop a key's newest event when the raw table holds a later delete of that key.

    A re-sent old change (Kafka Connect replays after a crash) must not bring back a row deleted
    since; ``deletes`` are raw rows (``key``, ``lsn``) with op ``d``.
    """
    later = deletes.select(F.col("key").alias("_dk"), F.col("lsn").alias("_dl"))
    condition = (winners["_key"] == later["_dk"]) & (later["_dl"] > winners["_lsn"])
    return winners.join(later, condition, "left_anti")
