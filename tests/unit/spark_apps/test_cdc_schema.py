"""Kafka Connect schemas -> Spark types, TOASTability and the trusted table's schema evolution (pure)."""

from __future__ import annotations

import json

import pytest

from spark_apps.cdc.schema import (
    PLACEHOLDER,
    Field,
    envelope_fields,
    fits,
    key_fields,
    misfits,
    placeholders,
    plan,
    text_struct,
    widens,
)

NUMERIC = {"__debezium.source.column.type": "NUMERIC", "__debezium.source.column.length": "12",
           "__debezium.source.column.scale": "2"}  # fmt: skip


def spec(
    name: str, kind: str, logical: str | None = None, params: dict[str, str] | None = None
) -> dict[str, object]:
    out: dict[str, object] = {"field": name, "type": kind, "optional": True}
    if logical:
        out["name"] = logical
    if params:
        out["parameters"] = params
    return out


@pytest.mark.parametrize(
    ("field", "sql_type", "toastable"),
    [
        (spec("id", "int64"), "bigint", False),
        (spec("n", "int16"), "int", False),
        (spec("ok", "boolean"), "boolean", False),
        (spec("x", "float64"), "double", False),
        (spec("name", "string"), "string", True),
        (spec("blob", "bytes"), "binary", True),
        (spec("amount", "string", params=NUMERIC), "decimal(12,2)", True),
        (
            spec("amount", "string", params={**NUMERIC, "__debezium.source.column.length": "0"}),
            "string",
            True,
        ),
        (spec("created_at", "string", "io.debezium.time.ZonedTimestamp"), "timestamp", False),
        (spec("at", "int64", "io.debezium.time.MicroTimestamp"), "timestamp_ntz", False),
        (spec("at", "int64", "io.debezium.time.Timestamp"), "timestamp_ntz", False),
        (spec("day", "int32", "io.debezium.time.Date"), "date", False),
        (spec("t", "int64", "io.debezium.time.MicroTime"), "string", False),
        (spec("doc", "string", "io.debezium.data.Json"), "string", True),
        (spec("tags", "array"), "string", True),
    ],
)
def test_connect_types_map_to_spark_types(field: dict[str, object], sql_type: str, toastable: bool) -> None:
    parsed = Field.of(field)
    assert (parsed.sql_type, parsed.toastable) == (sql_type, toastable)


def test_the_row_and_key_columns_come_from_the_envelope_and_key_schemas() -> None:
    row = {"type": "struct", "fields": [spec("id", "int64"), spec("name", "string")]}
    envelope = {"type": "struct", "fields": [{**row, "field": "before"}, {**row, "field": "after"},
                                             spec("op", "string")]}  # fmt: skip
    assert [f.name for f in envelope_fields(json.dumps(envelope))] == ["id", "name"]
    assert [f.name for f in key_fields(json.dumps({"type": "struct", "fields": [spec("id", "int64")]}))] == [
        "id"
    ]
    with pytest.raises(ValueError, match="not a Debezium change event"):
        envelope_fields(json.dumps({"type": "struct", "fields": [spec("op", "string")]}))
    assert text_struct([Field("we`ird", "int64")]) == "`we``ird` string"


def test_placeholders_cover_text_bytes_and_arrays() -> None:
    assert placeholders() == (PLACEHOLDER, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==", f'["{PLACEHOLDER}"]')


def test_widening_follows_icebergs_promotions_and_strings_take_anything_but_bytes() -> None:
    assert widens("int", "bigint") and widens("float", "double") and widens("decimal(8,2)", "decimal(12,2)")
    assert not widens("bigint", "int") and not widens("decimal(8,2)", "decimal(12,3)")
    assert fits("decimal(12,2)", "string") and fits("int", "bigint") and not fits("binary", "string")
    assert not fits("string", "int")


def test_plan_adds_drops_widens_and_refuses_what_iceberg_cannot_change() -> None:
    current = {"id": "bigint", "name": "string", "floor": "int", "old": "string", "fee": "decimal(8,2)"}
    wanted = [
        ("id", "bigint"),
        ("name", "string"),
        ("floor", "bigint"),
        ("fee", "decimal(10,2)"),
        ("nick", "string"),
    ]
    got = plan(current, wanted)
    assert (got.add, got.drop, got.widen, got.conflicts) == (
        (("nick", "string"),),
        ("old",),
        (("floor", "bigint"), ("fee", "decimal(10,2)")),
        (),
    )
    assert plan(current, [(k, v) for k, v in current.items()]).empty
    narrowed = plan(current, [("id", "int"), *[(k, v) for k, v in current.items() if k != "id"]])
    assert narrowed.empty  # a narrower source type still fits the column
    refused = plan(current, [("id", "bigint"), ("name", "string"), ("floor", "string"), ("old", "int")])
    assert refused.conflicts == (
        "column floor changed type int -> string, which its Iceberg column cannot take",
    )
    assert refused.widen == ()  # old: int values fit its string column, nothing to change
    assert misfits([Field("floor", "string")], {"floor": "int"}) == [
        "column floor is string in the event, int in the lake"
    ]
    assert misfits([Field("floor", "int32")], {"FLOOR": "bigint"}) == []
