"""Avro reader/writer compatibility, as a table of cases, and the registry levels."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schema_registry.compatibility import check, check_level


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


def fixed(size: int, name: str = "F") -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size}


LINKED = record(field("value", "int"), field("next", ["null", "Node"], default=None), name="Node")
LINKED_WITH_LABEL = record(
    field("value", "int"),
    field("next", ["null", "Node"], default=None),
    field("label", "string", default=""),
    name="Node",
)
LINKED_LONG = record(field("value", "long"), field("next", ["null", "Node"], default=None), name="Node")
LINKED_STRING = record(field("value", "string"), field("next", ["null", "Node"], default=None), name="Node")

# (case, reader, writer, expected error type or None when compatible)
CASES: list[tuple[str, Any, Any, str | None]] = [
    ("same primitive", "int", "int", None),
    ("int -> long", "long", "int", None),
    ("int -> float", "float", "int", None),
    ("int -> double", "double", "int", None),
    ("long -> float", "float", "long", None),
    ("long -> double", "double", "long", None),
    ("float -> double", "double", "float", None),
    ("string -> bytes", "bytes", "string", None),
    ("bytes -> string", "string", "bytes", None),
    ("long cannot narrow to int", "int", "long", "TYPE_MISMATCH"),
    ("double cannot narrow to float", "float", "double", "TYPE_MISMATCH"),
    ("string is not int", "int", "string", "TYPE_MISMATCH"),
    ("boolean is not null", "null", "boolean", "TYPE_MISMATCH"),
    ("logical type by underlying type", {"type": "long", "logicalType": "timestamp-millis"}, "long", None),
    ("date reads int", {"type": "int", "logicalType": "date"}, {"type": "int"}, None),
    (
        "decimal over bytes vs string",
        {"type": "bytes", "logicalType": "decimal", "precision": 4},
        "string",
        None,
    ),
    ("record: same", record(field("a", "int")), record(field("a", "int")), None),
    (
        "record: writer field dropped",
        record(field("a", "int")),
        record(field("a", "int"), field("b", "int")),
        None,
    ),
    (
        "record: new reader field with default",
        record(field("a", "int"), field("b", "string", default="x")),
        record(field("a", "int")),
        None,
    ),
    (
        "record: new reader field without default",
        record(field("a", "int"), field("b", "string")),
        record(field("a", "int")),
        "READER_FIELD_MISSING_DEFAULT_VALUE",
    ),
    (
        "record: null default counts",
        record(field("a", "int"), field("b", ["null", "string"], default=None)),
        record(field("a", "int")),
        None,
    ),
    ("record: field type promoted", record(field("a", "long")), record(field("a", "int")), None),
    ("record: field type narrowed", record(field("a", "int")), record(field("a", "long")), "TYPE_MISMATCH"),
    (
        "record: renamed via field alias",
        record(field("b", "int", aliases=["a"])),
        record(field("a", "int")),
        None,
    ),
    (
        "record: renamed without alias or default",
        record(field("b", "int")),
        record(field("a", "int")),
        "READER_FIELD_MISSING_DEFAULT_VALUE",
    ),
    ("record: name differs", record(name="A"), record(name="B"), "NAME_MISMATCH"),
    ("record: renamed with alias", record(name="A", aliases=["B"]), record(name="B"), None),
    (
        "record: namespace change is allowed",
        record(name="A", namespace="x"),
        record(name="A", namespace="y"),
        None,
    ),
    (
        "record: nested field type mismatch",
        record(field("inner", record(field("x", "int"), name="I"))),
        record(field("inner", record(field("x", "string"), name="I"))),
        "TYPE_MISMATCH",
    ),
    ("recursive record: same", LINKED, LINKED, None),
    ("recursive record: added field with default", LINKED_WITH_LABEL, LINKED, None),
    ("recursive record: promoted field", LINKED_LONG, LINKED, None),
    ("recursive record: incompatible field", LINKED_STRING, LINKED, "TYPE_MISMATCH"),
    ("enum: same", enum("A", "B"), enum("A", "B"), None),
    ("enum: reader adds a symbol", enum("A", "B", "C"), enum("A", "B"), None),
    ("enum: writer symbol missing in reader", enum("A"), enum("A", "B"), "MISSING_ENUM_SYMBOLS"),
    ("enum: reader default covers missing symbol", enum("A", "U", default="U"), enum("A", "B"), None),
    ("enum: name differs", {**enum("A"), "name": "Other"}, enum("A"), "NAME_MISMATCH"),
    ("array: items promoted", {"type": "array", "items": "long"}, {"type": "array", "items": "int"}, None),
    (
        "array: items mismatch",
        {"type": "array", "items": "int"},
        {"type": "array", "items": "string"},
        "TYPE_MISMATCH",
    ),
    ("map: values promoted", {"type": "map", "values": "double"}, {"type": "map", "values": "float"}, None),
    (
        "map: values mismatch",
        {"type": "map", "values": "int"},
        {"type": "map", "values": "boolean"},
        "TYPE_MISMATCH",
    ),
    (
        "array is not map",
        {"type": "array", "items": "int"},
        {"type": "map", "values": "int"},
        "TYPE_MISMATCH",
    ),
    ("fixed: same size", fixed(4), fixed(4), None),
    ("fixed: size differs", fixed(4), fixed(8), "FIXED_SIZE_MISMATCH"),
    ("fixed: name differs", fixed(4, "A"), fixed(4, "B"), "NAME_MISMATCH"),
    ("union: writer plain, reader union containing it", ["null", "string"], "string", None),
    ("union: writer plain, reader union via promotion", ["null", "long"], "int", None),
    ("union: writer plain, reader union lacking it", ["null", "string"], "int", "MISSING_UNION_BRANCH"),
    ("union: reader adds a branch", ["null", "string", "int"], ["null", "string"], None),
    ("union: reader drops a branch", ["null", "string"], ["null", "string", "int"], "MISSING_UNION_BRANCH"),
    ("union: writer union, reader plain covering all", "long", ["int", "long"], None),
    ("union: writer union, reader plain missing one", "string", ["null", "string"], "MISSING_UNION_BRANCH"),
    ("union: branch order does not matter", ["string", "null"], ["null", "string"], None),
    (
        "union: named branch evolves compatibly",
        ["null", record(field("a", "int"), field("b", "int", default=0))],
        ["null", record(field("a", "int"))],
        None,
    ),
    (
        "union: named branch evolves incompatibly",
        ["null", record(field("a", "int"), field("b", "int"))],
        ["null", record(field("a", "int"))],
        "MISSING_UNION_BRANCH",
    ),
]


@pytest.mark.parametrize(("reader", "writer", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reader_writer(reader: Any, writer: Any, expected: str | None) -> None:
    problems = check(json.dumps(reader), json.dumps(writer))  # schema texts, as the registry gets them
    if expected is None:
        assert problems == []
    else:
        assert problems, "expected an incompatibility"
        assert expected in problems[0], problems


def test_messages_name_the_path() -> None:
    reader = record(field("user", record(field("id", "long"), field("email", "string"), name="User")))
    writer = record(field("user", record(field("id", "long"), name="User")))
    [message] = check(reader, writer)
    assert "/fields/user/type/fields/email" in message
    assert "'email'" in message


def test_every_problem_is_reported() -> None:
    reader = record(field("a", "int"), field("b", "string"), field("c", "boolean"))
    writer = record(field("a", "string"))
    assert len(check(reader, writer)) == 3


V1 = record(field("a", "int"))
V2 = record(field("a", "int"), field("b", "string", default=""))  # adds a field with a default
V3 = record(field("a", "int"), field("b", "string", default=""), field("c", "int"))  # adds one without


@pytest.mark.parametrize(
    ("level", "new", "existing", "compatible"),
    [
        ("NONE", record(field("z", "bytes")), [V1], True),
        ("BACKWARD", V2, [V1], True),
        ("BACKWARD", V3, [V2], False),  # new reader needs c, old data lacks it
        ("FORWARD", V3, [V2], True),  # old readers ignore c
        ("FORWARD", V1, [V2], True),  # old reader has a default for b
        ("FORWARD", record(field("b", "string", default="")), [V1], False),  # old reader needs a
        ("FULL", V2, [V1], True),
        ("FULL", V3, [V2], False),
        # latest-only vs transitive: dropping b's default is fine against V1 alone...
        ("BACKWARD", record(field("a", "int"), field("b", "string")), [V2], True),
        # ...but not against V1, which lacks b
        ("BACKWARD_TRANSITIVE", record(field("a", "int"), field("b", "string")), [V1, V2], False),
        ("BACKWARD", record(field("a", "int"), field("b", "string")), [V1, V2], True),
        ("FORWARD_TRANSITIVE", record(field("b", "string", default="")), [V1, V2], False),
        ("FULL_TRANSITIVE", V2, [V1, V2], True),
        ("BACKWARD", V3, [], True),
    ],
)
def test_levels(level: str, new: Any, existing: list[Any], compatible: bool) -> None:
    versions = list(enumerate(existing, start=1))
    messages = check_level(new, versions, level)
    assert (messages == []) is compatible, messages
    assert all(level in m for m in messages)


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compatibility level"):
        check_level(V1, [(1, V1)], "SIDEWAYS")
