"""Avro schema compatibility, following Avro's schema resolution rules (reader vs writer).

:func:`check` says why data written with one schema cannot be read with another;
:func:`check_level` applies a registry compatibility level (BACKWARD, FORWARD, FULL, their
``_TRANSITIVE`` forms, NONE) to a new schema and a subject's existing versions, and
:func:`first_incompatible` finds the newest version it breaks. They return human-readable
messages, empty when compatible. Logical types are compared by their
underlying type, as Avro's own checker does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schema_registry.avro_schema import AvroSchema, parse

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
DEFAULT_LEVEL = "BACKWARD"
# writer type -> reader types that can read it (besides itself)
PROMOTIONS = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def check(reader: AvroSchema | str | Any, writer: AvroSchema | str | Any) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer``: one message per problem."""
    reader_schema = reader if isinstance(reader, AvroSchema) else parse(reader)
    writer_schema = writer if isinstance(writer, AvroSchema) else parse(writer)
    return _Checker(reader_schema.named, writer_schema.named).check(
        reader_schema.parsed, writer_schema.parsed, ""
    )


def check_level(
    new: AvroSchema | str | Any, existing: Sequence[tuple[int, AvroSchema | str | Any]], level: str
) -> list[str]:
    """Messages that forbid registering ``new`` after ``existing`` ((version, schema), oldest first)."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown compatibility level {level!r}; one of {', '.join(LEVELS)}")
    if level == "NONE" or not existing:
        return []
    against = existing if level.endswith("_TRANSITIVE") else existing[-1:]
    backward = level.startswith(("BACKWARD", "FULL"))
    forward = level.startswith(("FORWARD", "FULL"))
    messages: list[str] = []
    for version, old in reversed(against):  # newest first: the most relevant messages lead
        if backward:
            messages += [f"{level}: new schema cannot read version {version}: {m}" for m in check(new, old)]
        if forward:
            messages += [
                f"{level}: version {version} cannot read the new schema: {m}" for m in check(old, new)
            ]
    return messages


def first_incompatible(
    new: AvroSchema | str | Any, existing: Sequence[tuple[int, AvroSchema | str | Any]], level: str
) -> tuple[int, list[str]] | None:
    """The newest version ``new`` breaks under ``level`` with the reasons (as Confluent, which stops
    at the first), or None; ``existing`` is (version, schema), oldest first."""
    for version, old in reversed(existing):
        messages = check_level(new, [(version, old)], level)
        if messages:
            return version, messages
        if not level.upper().endswith("_TRANSITIVE"):
            break
    return None


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema["type"]
        return "record" if kind == "error" else kind
    return schema


def _describe(schema: Any) -> str:
    kind = _kind(schema)
    if kind in ("record", "enum", "fixed"):
        return f"{kind} '{schema['name']}'"
    if kind == "union":
        return "union [" + ", ".join(_describe(branch) for branch in schema) + "]"
    if kind == "array":
        return f"array<{_describe(schema['items'])}>"
    if kind == "map":
        return f"map<{_describe(schema['values'])}>"
    return kind


def _simple(fullname: str) -> str:
    return fullname.rpartition(".")[2]


class _Checker:
    def __init__(self, reader_named: dict[str, Any], writer_named: dict[str, Any]) -> None:
        self.reader_named = reader_named
        self.writer_named = writer_named
        self.in_progress: set[tuple[str, str]] = set()

    def check(self, reader: Any, writer: Any, path: str) -> list[str]:
        reader = self.reader_named.get(reader, reader) if isinstance(reader, str) else reader
        writer = self.writer_named.get(writer, writer) if isinstance(writer, str) else writer
        reader_kind, writer_kind = _kind(reader), _kind(writer)
        where = path or "/"
        if writer_kind == "union":
            return [
                m
                for index, branch in enumerate(writer)
                for m in self._writer_branch(reader, branch, path, index)
            ]
        if reader_kind == "union":
            if any(not self.check(branch, writer, path) for branch in reader):
                return []
            return [
                f"MISSING_UNION_BRANCH at {where}: reader {_describe(reader)} has no branch that can read "
                f"writer type {_describe(writer)}"
            ]
        if reader_kind != writer_kind:
            if reader_kind in PROMOTIONS.get(writer_kind, ()):
                return []
            return [
                f"TYPE_MISMATCH at {where}: reader type {_describe(reader)} cannot read writer type "
                f"{_describe(writer)}"
            ]
        if reader_kind in PRIMITIVES:
            return []
        if reader_kind == "array":
            return self.check(reader["items"], writer["items"], f"{path}/items")
        if reader_kind == "map":
            return self.check(reader["values"], writer["values"], f"{path}/values")
        if not self._names_match(reader, writer):
            return [
                f"NAME_MISMATCH at {where}: reader {_describe(reader)} does not match writer "
                f"{_describe(writer)} (names differ and no reader alias matches)"
            ]
        if reader_kind == "fixed":
            if reader["size"] != writer["size"]:
                return [
                    f"FIXED_SIZE_MISMATCH at {where}: reader {_describe(reader)} has size {reader['size']}, "
                    f"writer has size {writer['size']}"
                ]
            return []
        if reader_kind == "enum":
            missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
            if missing and "default" not in reader:
                return [
                    f"MISSING_ENUM_SYMBOLS at {where}: reader {_describe(reader)} lacks writer symbols "
                    f"{missing} and has no default symbol"
                ]
            return []
        return self._record(reader, writer, path)

    def _writer_branch(self, reader: Any, branch: Any, path: str, index: int) -> list[str]:
        problems = self.check(reader, branch, f"{path}/{index}")
        if not problems or _kind(reader) == "union":
            return problems
        return [
            f"MISSING_UNION_BRANCH at {path or '/'}: writer union branch {index} "
            f"({_describe(self.writer_named.get(branch, branch) if isinstance(branch, str) else branch)}) "
            f"cannot be read: {problems[0]}"
        ]

    def _names_match(self, reader: dict[str, Any], writer: dict[str, Any]) -> bool:
        writer_name = writer["name"]
        if _simple(reader["name"]) == _simple(writer_name):
            return True
        aliases = reader.get("aliases") or []
        namespace = reader["name"].rpartition(".")[0]
        qualified = {a if "." in a or not namespace else f"{namespace}.{a}" for a in aliases}
        return writer_name in qualified or _simple(writer_name) in aliases

    def _record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
        key = (reader["name"], writer["name"])
        if key in self.in_progress:  # recursive type: assume compatible while checking it
            return []
        self.in_progress.add(key)
        try:
            writer_fields = {field["name"]: field for field in writer["fields"]}
            problems: list[str] = []
            for field in reader["fields"]:
                names = [field["name"], *(field.get("aliases") or [])]
                match = next((writer_fields[n] for n in names if n in writer_fields), None)
                field_path = f"{path}/fields/{field['name']}"
                if match is not None:
                    problems += self.check(field["type"], match["type"], f"{field_path}/type")
                elif "default" not in field:
                    problems.append(
                        f"READER_FIELD_MISSING_DEFAULT_VALUE at {field_path}: reader field "
                        f"'{field['name']}' of {_describe(reader)} has no default value and is missing "
                        "from the writer schema"
                    )
            return problems
        finally:
            self.in_progress.discard(key)
