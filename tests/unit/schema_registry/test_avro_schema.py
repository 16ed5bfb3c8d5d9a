"""Parsing: the canonical text and the strict checks fastavro alone does not make."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schema_registry.avro_schema import InvalidSchemaError, parse


def canonical(schema: Any) -> str:
    return parse(json.dumps(schema)).canonical


def test_canonical_is_independent_of_layout_and_key_order() -> None:
    a = {"type": "record", "name": "A", "namespace": "n", "fields": [{"name": "x", "type": "int"}]}
    b = {"fields": [{"type": {"type": "int"}, "name": "x"}], "namespace": "n", "name": "A", "type": "record"}
    assert parse(json.dumps(a, indent=4)).canonical == canonical(b)
    assert canonical(a) == '{"type":"record","name":"A","namespace":"n","fields":[{"name":"x","type":"int"}]}'


def test_dotted_name_equals_name_plus_namespace() -> None:
    dotted = {"type": "record", "name": "n.A", "fields": []}
    split = {"type": "record", "name": "A", "namespace": "n", "fields": []}
    assert canonical(dotted) == canonical(split)


def test_references_are_written_relative_to_the_enclosing_namespace() -> None:
    schema = {
        "type": "record",
        "name": "A",
        "namespace": "n",
        "fields": [
            {"name": "e", "type": {"type": "enum", "name": "m.E", "symbols": ["X"]}},
            {"name": "e2", "type": "m.E"},
            {"name": "self", "type": ["null", "n.A"], "default": None},
        ],
    }
    text = canonical(schema)
    assert '{"name":"e2","type":"m.E"}' in text
    assert '"type":["null","A"],"default":null' in text
    assert '"name":"E","namespace":"m"' in text


def test_canonical_keeps_what_resolution_needs() -> None:
    schema = {
        "type": "record",
        "name": "A",
        "aliases": ["Old"],
        "doc": "d",
        "fields": [
            {
                "name": "t",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "default": 0,
                "aliases": ["ts"],
            },
            {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"}},
        ],
    }
    reparsed = json.loads(canonical(schema))
    assert reparsed["aliases"] == ["Old"] and reparsed["doc"] == "d"
    assert reparsed["fields"][0] == {
        "name": "t",
        "type": {"type": "long", "logicalType": "timestamp-millis"},
        "default": 0,
        "aliases": ["ts"],
    }
    assert reparsed["fields"][1]["type"]["default"] == "A"


def test_canonical_is_a_fixed_point() -> None:
    text = canonical({"type": "map", "values": {"type": "array", "items": ["null", "bytes"]}})
    assert parse(text).canonical == text
    assert canonical("string") == '"string"'


def rec(*fields: dict[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


INVALID: list[tuple[str, Any, str]] = [
    ("not JSON", "{nope", "not JSON"),
    ("bare primitive name", "int", "not JSON"),
    ("unknown type", {"type": "strng"}, "Invalid Avro schema"),
    ("unknown reference", rec({"name": "a", "type": "Missing"}), "Invalid Avro schema"),
    ("record without fields", {"type": "record", "name": "R"}, "fields"),
    (
        "duplicate field",
        rec({"name": "a", "type": "int"}, {"name": "a", "type": "long"}),
        "two fields named 'a'",
    ),
    ("bad field name", rec({"name": "a-b", "type": "int"}), "invalid field name"),
    ("bad record name", {"type": "record", "name": "1R", "fields": []}, "invalid name"),
    ("duplicate enum symbol", {"type": "enum", "name": "E", "symbols": ["A", "A"]}, "unique"),
    (
        "enum default not a symbol",
        {"type": "enum", "name": "E", "symbols": ["A"], "default": "Z"},
        "Invalid Avro schema",
    ),
    ("fixed without size", {"type": "fixed", "name": "F"}, "size"),
    ("duplicate union branch", ["int", "int"], "twice"),
    ("nested union", ["null", ["int"]], "another union"),
    ("redefined name", rec({"name": "a", "type": rec(name="R")}), "Invalid Avro schema"),
    ("default of wrong type", rec({"name": "a", "type": "int", "default": "x"}), "Invalid Avro schema"),
    (
        "union default not of first branch",
        rec({"name": "a", "type": ["null", "string"], "default": "x"}),
        "first",
    ),
    ("int default out of range", rec({"name": "a", "type": "int", "default": 2**31}), "default"),
    (
        "fixed default of wrong size",
        rec({"name": "a", "type": {"type": "fixed", "name": "F", "size": 2}, "default": "abc"}),
        "default",
    ),
    (
        "record default missing a field",
        rec({"name": "a", "type": rec({"name": "q", "type": "int"}, name="Q"), "default": {}}),
        "default",
    ),
    ("bad field order", rec({"name": "a", "type": "int", "order": "up"}), "order"),
]


@pytest.mark.parametrize(("schema", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_schemas_are_refused(schema: Any, message: str) -> None:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    with pytest.raises(InvalidSchemaError, match=message):
        parse(text)


VALID = [
    rec({"name": "a", "type": ["null", "string"], "default": None}),
    rec({"name": "a", "type": ["string", "null"], "default": "x"}),
    rec({"name": "a", "type": "bytes", "default": "\u00ff\u0000"}),
    rec({"name": "a", "type": "double", "default": 1}),
    rec({"name": "a", "type": {"type": "map", "values": "long"}, "default": {"k": 1}}),
    rec({"name": "a", "type": rec({"name": "q", "type": "int", "default": 1}, name="Q"), "default": {}}),
    {"type": "error", "name": "Oops", "fields": []},
]


@pytest.mark.parametrize("schema", VALID)
def test_valid_schemas_parse(schema: Any) -> None:
    assert parse(json.dumps(schema)).canonical
