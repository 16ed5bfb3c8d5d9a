"""Validate JSON events against an Avro record schema, with a field path and reason per problem.

The fast path is one fastavro ``validate`` call per record; only a failing record is taken apart
field by field to explain every problem. ``timestamp-millis`` fields accept epoch millis or an
ISO-8601 string (naive times are UTC) and are converted to millis before validation. A valid
record is then encoded by confluent-kafka's ``AvroSerializer`` with the same registered version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastavro import parse_schema
from fastavro.validation import validate

MAGIC = b"\x00"  # Confluent wire format: magic byte, 4-byte schema id, Avro body
TIMESTAMP_TYPES = {"timestamp-millis": 1_000, "timestamp-micros": 1_000_000}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str
    kind: str  # low-cardinality label for metrics: missing_field, wrong_type, unknown_field, ...

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def describe(avro_type: Any) -> str:
    """A short human description of an Avro type, e.g. ``string``, ``null | timestamp-millis``."""
    if isinstance(avro_type, list):
        return " | ".join(describe(branch) for branch in avro_type)
    if isinstance(avro_type, dict):
        if "logicalType" in avro_type:
            return str(avro_type["logicalType"])
        kind = avro_type.get("type")
        if kind in ("record", "enum", "fixed"):
            name = str(avro_type.get("name", kind)).rsplit(".", 1)[-1]
            return f"{kind} {name}"
        if kind == "array":
            return f"array of {describe(avro_type.get('items'))}"
        if kind == "map":
            return f"map of {describe(avro_type.get('values'))}"
        return describe(kind)
    return str(avro_type).rsplit(".", 1)[-1]


def _timestamp_scale(avro_type: Any) -> int | None:
    """Units per second when ``avro_type`` is (or is a nullable union of) a timestamp logical type."""
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    for branch in branches:
        if isinstance(branch, dict) and branch.get("logicalType") in TIMESTAMP_TYPES:
            return TIMESTAMP_TYPES[branch["logicalType"]]
    return None


def parse_timestamp(value: Any, scale: int) -> Any:
    """ISO-8601 string -> epoch units (``scale`` per second); other values pass through unchanged."""
    if not isinstance(value, str):
        return value
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * scale + delta.microseconds * scale // 1_000_000


class RecordValidator:
    """Validates (and normalises) JSON objects against one Avro record schema."""

    def __init__(self, schema: str | dict[str, Any]) -> None:
        raw = json.loads(schema) if isinstance(schema, str) else schema
        self.parsed = parse_schema(raw)
        if not isinstance(self.parsed, dict) or self.parsed.get("type") != "record":
            raise ValueError("the ingest API takes record schemas only")
        self.fields: list[dict[str, Any]] = self.parsed["fields"]
        # one single-field record per field, to explain a failure field by field
        self._field_schemas = {f["name"]: {**self.parsed, "fields": [f]} for f in self.fields}
        self.names = frozenset(f["name"] for f in self.fields)
        self.timestamps = {
            f["name"]: scale for f in self.fields if (scale := _timestamp_scale(f["type"])) is not None
        }

    def check(self, record: Any, *, reject_unknown: bool = True) -> tuple[Any, list[FieldError]]:
        """``(normalised record, [])`` when valid, else ``(record, errors)``."""
        if not isinstance(record, dict):
            reason = f"expected a JSON object, got {_json_type(record)}"
            return record, [FieldError("$", reason, "not_object")]
        errors: list[FieldError] = []
        if self.timestamps:
            record = dict(record)
            for name, scale in self.timestamps.items():
                if name not in record:
                    continue
                try:
                    record[name] = parse_timestamp(record.get(name), scale)
                except ValueError:
                    reason = f"not an ISO-8601 time or epoch number: {record[name]!r:.60}"
                    errors.append(FieldError(name, reason, "bad_timestamp"))
        if reject_unknown and not self.names.issuperset(record):
            errors.extend(
                FieldError(name, "unknown field (not in the schema)", "unknown_field")
                for name in sorted(set(record) - self.names)
            )
        if not errors and validate(record, self.parsed, raise_errors=False):
            return record, []
        return record, errors + self._explain(record, skip={e.field for e in errors})

    def _explain(self, record: dict[str, Any], skip: set[str]) -> list[FieldError]:
        errors = []
        for field in self.fields:
            name = field["name"]
            if name in skip:
                continue
            value = record.get(name, field.get("default", _NO_DEFAULT))
            if value is _NO_DEFAULT:
                errors.append(
                    FieldError(name, f"missing required field ({describe(field['type'])})", "missing_field")
                )
            elif not validate({name: value}, self._field_schemas[name], raise_errors=False):
                errors.append(
                    FieldError(
                        name,
                        f"expected {describe(field['type'])}, got {_json_type(value)} {value!r:.60}",
                        "wrong_type",
                    )
                )
        return errors
