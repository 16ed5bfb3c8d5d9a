"""The validation module: one reason per field, timestamps from ISO-8601 or epoch millis."""

from __future__ import annotations

import pytest

from ingest_api.validation import RecordValidator, describe, parse_timestamp

from .conftest import SCHEMA, event


@pytest.fixture(scope="module")
def validator() -> RecordValidator:
    return RecordValidator(SCHEMA)


def test_valid_event_passes_unchanged(validator: RecordValidator) -> None:
    assert validator.check(event()) == (event(), [])


@pytest.mark.parametrize(
    ("given", "millis"),
    [
        ("2026-11-24T10:00:00Z", 1_795_514_400_000),
        ("2026-11-24T11:00:00+01:00", 1_795_514_400_000),
        ("2026-11-24T10:00:00", 1_795_514_400_000),  # naive means UTC
        ("2026-11-24T10:00:00.123Z", 1_795_514_400_123),
        (1_795_514_400_000, 1_795_514_400_000),
    ],
)
def test_event_time_accepts_iso_and_epoch_millis(
    validator: RecordValidator, given: object, millis: int
) -> None:
    value, errors = validator.check(event(event_time=given))
    assert errors == []
    assert value["event_time"] == millis


def test_every_problem_is_reported_with_field_and_reason(validator: RecordValidator) -> None:
    _, errors = validator.check({"username": 7, "page": "/", "event_time": "yesterday", "colour": "red"})
    by_field = {e.field: (e.kind, e.reason) for e in errors}
    assert by_field["username"] == ("wrong_type", "expected string, got number 7")
    assert by_field["event_name"][0] == "missing_field"
    assert by_field["event_time"][0] == "bad_timestamp"
    assert by_field["colour"] == ("unknown_field", "unknown field (not in the schema)")
    assert "page" not in by_field


def test_unknown_fields_can_be_allowed(validator: RecordValidator) -> None:
    assert validator.check(event(extra=1), reject_unknown=False)[1] == []


@pytest.mark.parametrize("bad", [True, 1.5, None, "", [1]])
def test_event_time_rejects_non_timestamps(validator: RecordValidator, bad: object) -> None:
    _, errors = validator.check(event(event_time=bad))
    assert [e.field for e in errors] == ["event_time"]


def test_missing_timestamp_is_missing_not_null(validator: RecordValidator) -> None:
    record = event()
    del record["event_time"]
    _, errors = validator.check(record)
    assert [(e.field, e.kind) for e in errors] == [("event_time", "missing_field")]


def test_non_object_is_rejected(validator: RecordValidator) -> None:
    _, errors = validator.check(["not", "an", "object"])
    assert [(e.field, e.kind) for e in errors] == [("$", "not_object")]


def test_defaults_and_nullable_fields() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "a", "type": "string"},
            {"name": "b", "type": ["null", "string"], "default": None},
            {
                "name": "t",
                "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
                "default": None,
            },
        ],
    }
    validator = RecordValidator(schema)
    assert validator.check({"a": "x"})[1] == []
    assert validator.check({"a": "x", "t": "1970-01-01T00:00:01Z"})[0]["t"] == 1000
    assert validator.check({"a": "x", "b": 3})[1][0].reason == "expected null | string, got number 3"


def test_only_record_schemas() -> None:
    with pytest.raises(ValueError, match="record"):
        RecordValidator('"string"')


def test_describe_and_parse_timestamp() -> None:
    assert describe({"type": "array", "items": "int"}) == "array of int"
    assert describe({"type": "record", "name": "a.b.C", "fields": []}) == "record C"
    assert parse_timestamp("1970-01-01T00:00:00.000001Z", 1_000_000) == 1
