"""The schema creator: plans from a registry's answers (an in-memory Registry of our own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from schemas.register import REGISTRY_URL_ENV, SCHEMA_DIR, Registry, diff_fields, main, register_schemas

SCHEMA = (SCHEMA_DIR / "appclickstream.avsc").read_text()


class MemoryRegistry(Registry):
    """Our Registry's calls answered from memory (compatibility: added fields need defaults)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[str]] = {}
        self.levels: dict[str, str] = {}
        self.writes: list[str] = []

    def latest(self, subject: str) -> dict[str, Any] | None:
        versions = self.versions.get(subject)
        return {"version": len(versions), "schema": versions[-1], "id": 1} if versions else None

    def lookup(self, subject: str, schema: str) -> dict[str, Any] | None:
        versions = self.versions.get(subject, [])
        return {"version": versions.index(schema) + 1, "id": 1} if schema in versions else None

    def level(self, subject: str) -> str | None:
        return self.levels.get(subject)

    def set_level(self, subject: str, level: str) -> None:
        self.writes.append(f"level {subject}")
        self.levels[subject] = level

    def check(self, subject: str, schema: str) -> tuple[bool, list[str]]:
        old = {f["name"] for f in json.loads(self.versions[subject][-1])["fields"]}
        new = json.loads(schema)["fields"]
        missing = [f["name"] for f in new if f["name"] not in old and "default" not in f]
        return not missing, [f"READER_FIELD_MISSING_DEFAULT_VALUE: {name}" for name in missing]

    def register(self, subject: str, schema: str) -> int:
        self.writes.append(f"register {subject}")
        self.versions.setdefault(subject, []).append(schema)
        return 1


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    (tmp_path / "clicks.avsc").write_text(SCHEMA)
    return tmp_path


def _run(registry: MemoryRegistry, schema_dir: Path, **kwargs: Any):
    console = Console(record=True, width=200)
    results = register_schemas(registry=registry, schema_dir=schema_dir, console=console, **kwargs)
    return results, console.export_text()


def _evolve(schema_dir: Path, field: dict[str, Any]) -> None:
    schema = json.loads((schema_dir / "clicks.avsc").read_text())
    schema["fields"].append(field)
    (schema_dir / "clicks.avsc").write_text(json.dumps(schema))


def test_first_run_creates_then_second_run_changes_nothing(schema_dir: Path) -> None:
    registry = MemoryRegistry()
    [created], text = _run(registry, schema_dir)
    assert created.subject == "clicks-value" and created.action == "create"
    assert registry.levels == {"clicks-value": "BACKWARD"}
    assert "+ event_time: timestamp-millis" in text
    writes = len(registry.writes)
    [again], _ = _run(registry, schema_dir)
    assert again.action == "unchanged" and not again.level_changed
    assert len(registry.writes) == writes


def test_dry_run_writes_nothing(schema_dir: Path) -> None:
    registry = MemoryRegistry()
    [result], text = _run(registry, schema_dir, dry_run=True)
    assert result.action == "create" and registry.writes == []
    assert "dry run" in text


def test_compatible_change_is_checked_then_registered(schema_dir: Path) -> None:
    registry = MemoryRegistry()
    _run(registry, schema_dir)
    _evolve(schema_dir, {"name": "referrer", "type": ["null", "string"], "default": None})
    [result], text = _run(registry, schema_dir)
    assert result.action == "update" and result.compatible
    assert len(registry.versions["clicks-value"]) == 2
    assert "+ referrer: null | string (default null)" in text


def test_incompatible_change_is_reported_not_registered(schema_dir: Path) -> None:
    registry = MemoryRegistry()
    _run(registry, schema_dir)
    _evolve(schema_dir, {"name": "device", "type": "string"})
    [result], text = _run(registry, schema_dir)
    assert result.action == "incompatible" and result.compatible is False
    assert len(registry.versions["clicks-value"]) == 1
    assert "INCOMPATIBLE" in text and "READER_FIELD_MISSING_DEFAULT_VALUE" in text


def test_level_is_set_only_when_it_differs(schema_dir: Path) -> None:
    registry = MemoryRegistry()
    registry.levels["clicks-value"] = "FULL"
    [result], _ = _run(registry, schema_dir, level="FULL")
    assert not result.level_changed and "level clicks-value" not in registry.writes
    with pytest.raises(ValueError, match="unknown compatibility"):
        _run(registry, schema_dir, level="SIDEWAYS")


def test_diff_fields_names_added_removed_and_changed_defaults() -> None:
    old = {"fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 1}]}
    new = {
        "fields": [{"name": "b", "type": "long", "default": 2}, {"name": "c", "type": "int", "default": 0}]
    }
    assert diff_fields(old, new) == [
        "~ b: type int -> long",
        "~ b: default 1 -> default 2",
        "+ c: int (default 0)",
        "- a: string (had no default)",
    ]
    assert diff_fields(old, old) == ["(no field changes; formatting or metadata only)"]


def test_the_registry_url_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(REGISTRY_URL_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--dry-run"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--registry-url" in error and REGISTRY_URL_ENV in error
    with pytest.raises(ValueError, match="registry URL"):
        register_schemas(schema_dir=SCHEMA_DIR)


def test_the_registry_url_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, schema_dir: Path
) -> None:
    seen: list[str | None] = []

    def fake(url: str | None, **kwargs: Any) -> list[Any]:
        seen.append(url)
        return []

    monkeypatch.setattr("schemas.register.register_schemas", fake)
    monkeypatch.setenv(REGISTRY_URL_ENV, "http://registry.example:8081/apis/ccompat/v7")
    assert main(["--dry-run"]) == 0
    assert main(["--registry-url", "http://other:8081"]) == 0
    assert seen == ["http://registry.example:8081/apis/ccompat/v7", "http://other:8081"]
