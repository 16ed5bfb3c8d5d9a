"""Kafka Connect schemas (JsonConverter's ``schema`` objects) -> Spark SQL types, converters, evolution.

Debezium's PostgreSQL connector with ``decimal.handling.mode=string`` and
``time.precision.mode=adaptive_time_microseconds`` sends integers and floats as JSON numbers, numeric
as strings (typed ``decimal(p,s)`` when the connector propagates the source column's type and size,
``datatype.propagate.source.type`` / ``column.propagate.source.type``; else kept as strings), timestamptz
as ISO strings (``io.debezium.time.ZonedTimestamp``), timestamp as microseconds (``MicroTimestamp``),
date as days (``Date``), bytea as base64. Values are read as JSON *text* first (``from_json`` with every
field a string keeps a number's or an object's text), so an unchanged TOASTed value (the placeholder)
and a value that does not convert can be told apart from a real NULL.

The converters of naive timestamps and times of day assume the session time zone is UTC (the app sets it).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

PLACEHOLDER = "__debezium_unavailable_value"  # Debezium's unavailable.value.placeholder default

PRIMITIVES = {
    "int8": "int",  # Iceberg has no tinyint/smallint
    "int16": "int",
    "int32": "int",
    "int64": "bigint",
    "float32": "float",
    "float64": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "binary",
    "array": "string",  # kept as JSON text
    "map": "string",
    "struct": "string",
}
# logical name -> (Spark type, how the JSON value encodes it)
LOGICAL = {
    "io.debezium.time.Date": ("date", "days"),
    "org.apache.kafka.connect.data.Date": ("date", "days"),
    "io.debezium.time.Timestamp": ("timestamp_ntz", "millis"),
    "org.apache.kafka.connect.data.Timestamp": ("timestamp_ntz", "millis"),
    "io.debezium.time.MicroTimestamp": ("timestamp_ntz", "micros"),
    "io.debezium.time.NanoTimestamp": ("timestamp_ntz", "nanos"),
    "io.debezium.time.ZonedTimestamp": ("timestamp", "iso"),
    "io.debezium.time.Time": ("string", "time_millis"),  # Spark 4.0 has no TIME type: 'HH:mm:ss.SSSSSS'
    "org.apache.kafka.connect.data.Time": ("string", "time_millis"),
    "io.debezium.time.MicroTime": ("string", "time_micros"),
    "io.debezium.time.NanoTime": ("string", "time_nanos"),
    "io.debezium.data.Bits": ("binary", "base64"),
}
SOURCE_TYPE = "__debezium.source.column.type"
SOURCE_LENGTH = "__debezium.source.column.length"
SOURCE_SCALE = "__debezium.source.column.scale"
MAX_MICROS = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999: beyond, Spark cannot hold it
DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class Field:
    """One column of a Connect struct schema."""

    name: str
    kind: str  # Connect type: int8..int64, float32/64, boolean, string, bytes, array, map, struct
    logical: str | None = None  # Connect/Debezium logical type name
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Field:
        params = spec.get("parameters") or {}
        return cls(
            name=str(spec["field"]),
            kind=str(spec["type"]),
            logical=spec.get("name"),
            params=tuple(sorted((str(k), str(v)) for k, v in params.items())),
        )

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) of a numeric sent as a string, when the connector propagates its size."""
        params = dict(self.params)
        if self.kind != "string" or params.get(SOURCE_TYPE, "").upper() not in ("NUMERIC", "DECIMAL"):
            return None
        try:
            precision, scale = int(params.get(SOURCE_LENGTH, "0")), int(params.get(SOURCE_SCALE) or 0)
        except ValueError:
            return None
        return (precision, scale) if 0 < precision <= 38 and 0 <= scale <= precision else None

    @property
    def sql_type(self) -> str:
        """The Spark SQL type of the column in the trusted table (``DataType.simpleString`` form)."""
        if self.logical in LOGICAL:
            return LOGICAL[self.logical][0]
        if (size := self.decimal) is not None:
            return f"decimal({size[0]},{size[1]})"
        return PRIMITIVES.get(self.kind, "string")

    @property
    def toastable(self) -> bool:
        """Whether PostgreSQL may leave the value out of an update (a variable-length, TOASTable value)."""
        logical = self.logical or ""
        return self.kind in ("string", "bytes", "array") and not logical.startswith("io.debezium.time.")


def envelope_fields(schema_json: str) -> tuple[Field, ...]:
    """The row's columns from a change event's value schema (its ``after``, else ``before``, struct)."""
    schema = json.loads(schema_json)
    parts = {part.get("field"): part for part in schema.get("fields", [])}
    row = parts.get("after") or parts.get("before")
    if not row or row.get("type") != "struct":
        raise ValueError("not a Debezium change event schema (no before/after struct)")
    return tuple(Field.of(spec) for spec in row.get("fields", []))


def key_fields(schema_json: str) -> tuple[Field, ...]:
    """The primary key's columns from a change event's key schema."""
    schema = json.loads(schema_json)
    if schema.get("type") != "struct":
        raise ValueError("the key schema is not a struct")
    return tuple(Field.of(spec) for spec in schema.get("fields", []))


def text_struct(fields: Sequence[Field]) -> str:
    """DDL of a struct that reads every field of a JSON object as its text."""
    return ", ".join(f"`{field.name.replace('`', '``')}` string" for field in fields)


def placeholders(placeholder: str = PLACEHOLDER) -> tuple[str, ...]:
    """The texts an unchanged TOASTed value arrives as: string, base64 bytes, one-element array."""
    return (placeholder, base64.b64encode(placeholder.encode()).decode(), json.dumps([placeholder]))


def _ntz(micros: Column) -> Column:
    return F.when(micros.between(-MAX_MICROS, MAX_MICROS), F.timestamp_micros(micros).cast("timestamp_ntz"))


def _time_of_day(micros: Column) -> Column:
    return F.when(
        micros.between(0, 86_400_000_000), F.date_format(F.timestamp_micros(micros), "HH:mm:ss.SSSSSS")
    )


def convert(text: Column, field: Field) -> Column:
    """The typed value (``field.sql_type``) of a value's JSON text; NULL when it does not convert."""
    encoding = LOGICAL[field.logical][1] if field.logical in LOGICAL else None
    number = text.try_cast("bigint")
    if encoding == "days":
        return F.date_from_unix_date(text.try_cast("int"))
    if encoding == "millis":
        return _ntz(F.try_multiply(number, F.lit(1000)))
    if encoding == "micros":
        return _ntz(number)
    if encoding == "nanos":
        return _ntz(F.floor(number / 1000).cast("bigint"))
    if encoding == "iso":
        return text.try_cast("timestamp")
    if encoding == "time_millis":
        return _time_of_day(F.try_multiply(number, F.lit(1000)))
    if encoding == "time_micros":
        return _time_of_day(number)
    if encoding == "time_nanos":
        return _time_of_day(F.floor(number / 1000).cast("bigint"))
    sql_type = field.sql_type
    if sql_type == "binary":
        return F.try_to_binary(text, F.lit("base64"))
    if sql_type == "string":
        return text
    return text.try_cast(sql_type)


def widens(value_type: str, column_type: str) -> bool:
    """Whether Iceberg can promote a column of ``value_type`` to ``column_type`` (or they are equal)."""
    if value_type == column_type:
        return True
    if (value_type, column_type) in {("int", "bigint"), ("float", "double")}:
        return True
    source, target = DECIMAL.fullmatch(value_type), DECIMAL.fullmatch(column_type)
    return bool(source and target and source[2] == target[2] and int(source[1]) <= int(target[1]))


def fits(value_type: str, column_type: str) -> bool:
    """Whether a column of ``column_type`` holds values of ``value_type`` (a string column takes text)."""
    return widens(value_type, column_type) or (column_type == "string" and value_type != "binary")


@dataclass(frozen=True)
class Plan:
    """What a table needs to follow a new source schema: DDL, or why it cannot."""

    add: tuple[tuple[str, str], ...] = ()  # (column, type)
    drop: tuple[str, ...] = ()
    widen: tuple[tuple[str, str], ...] = ()  # (column, new type)
    conflicts: tuple[str, ...] = ()  # type changes Iceberg cannot make

    @property
    def empty(self) -> bool:
        return not (self.add or self.drop or self.widen or self.conflicts)


def plan(current: Mapping[str, str], wanted: Sequence[tuple[str, str]]) -> Plan:
    """Columns to add, drop and widen so a table of ``current`` columns takes ``wanted`` (name, type)."""
    have = {name.lower(): (name, kind) for name, kind in current.items()}
    want = {name.lower() for name, _ in wanted}
    add, widen, conflicts = [], [], []
    for name, kind in wanted:
        if name.lower() not in have:
            add.append((name, kind))
            continue
        column, old = have[name.lower()]
        if fits(kind, old):  # the same, or narrower: the column keeps its type
            continue
        if widens(old, kind):
            widen.append((column, kind))
        else:
            conflicts.append(
                f"column {name} changed type {old} -> {kind}, which its Iceberg column cannot take"
            )
    drop = tuple(column for key, (column, _) in have.items() if key not in want)
    return Plan(tuple(add), drop, tuple(widen), tuple(conflicts))


def misfits(fields: Sequence[Field], columns: Mapping[str, str]) -> list[str]:
    """Why events of ``fields`` cannot land in a table of ``columns`` (empty: they can)."""
    have = {name.lower(): kind for name, kind in columns.items()}
    return [
        f"column {field.name} is {field.sql_type} in the event, {have[field.name.lower()]} in the lake"
        for field in fields
        if field.name.lower() in have and not fits(field.sql_type, have[field.name.lower()])
    ]
