"""Register every ``schemas/*.avsc`` as subject ``{name}-value``.

``python -m schemas.register --registry-url URL`` (or ``$SCHEMAS_REGISTRY_URL``); the platform's
``dataplat schemas`` passes its registry.

Idempotent: an unchanged schema is left alone, the subject's compatibility level is set only when
it differs, and a changed schema is first checked against the latest version
(``POST /compatibility/subjects/{s}/versions/latest?verbose=true``); an incompatible change is
reported and not registered. ``dry_run`` reads the registry and writes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from rich.console import Console
from rich.table import Table

from schema_registry.compatibility import LEVELS  # the Confluent API's level names

SCHEMA_DIR = Path(__file__).resolve().parent
REGISTRY_URL_ENV = "SCHEMAS_REGISTRY_URL"  # the registry when --registry-url is not given
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
Action = Literal["create", "update", "unchanged", "incompatible"]
_MISSING = object()


class RegistryRequestError(RuntimeError):
    """The registry answered an unexpected error."""


@dataclass
class SubjectResult:
    subject: str
    file: Path
    action: Action
    changes: list[str] = field(default_factory=list)
    compatible: bool | None = None  # None: nothing to check (new or unchanged)
    messages: list[str] = field(default_factory=list)
    level: str = ""
    level_changed: bool = False
    schema_id: int | None = None
    version: int | None = None


def _type_name(avro_type: Any) -> str:
    if isinstance(avro_type, list):
        return " | ".join(_type_name(branch) for branch in avro_type)
    if isinstance(avro_type, dict):
        return str(avro_type.get("logicalType") or avro_type.get("name") or avro_type.get("type"))
    return str(avro_type)


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable changes of a record's top-level fields: added, removed, type, default, doc."""
    before = {f["name"]: f for f in old.get("fields", [])}
    after = {f["name"]: f for f in new.get("fields", [])}
    changes = []
    for name, spec in after.items():
        default = spec.get("default", _MISSING)
        shown = "no default" if default is _MISSING else f"default {json.dumps(default)}"
        if name not in before:
            changes.append(f"+ {name}: {_type_name(spec['type'])} ({shown})")
            continue
        was = before[name]
        if _type_name(was["type"]) != _type_name(spec["type"]) or was["type"] != spec["type"]:
            changes.append(f"~ {name}: type {_type_name(was['type'])} -> {_type_name(spec['type'])}")
        if was.get("default", _MISSING) != default:
            old_default = was.get("default", _MISSING)
            old_shown = "no default" if old_default is _MISSING else f"default {json.dumps(old_default)}"
            changes.append(f"~ {name}: {old_shown} -> {shown}")
        if was.get("doc") != spec.get("doc"):
            changes.append(f"~ {name}: doc changed")
    for name, spec in before.items():
        if name not in after:
            default = spec.get("default", _MISSING)
            note = "had no default" if default is _MISSING else f"had default {json.dumps(default)}"
            changes.append(f"- {name}: {_type_name(spec['type'])} ({note})")
    if old.get("doc") != new.get("doc"):
        changes.append("~ record doc changed")
    return changes or ["(no field changes; formatting or metadata only)"]


class Registry:
    """The few Confluent-compatible calls the schema creator makes."""

    def __init__(self, url: str, *, client: httpx.Client | None = None, timeout_s: float = 10.0) -> None:
        self.http = client or httpx.Client(
            base_url=url.rstrip("/") + "/", timeout=timeout_s, headers={"Accept": CONTENT_TYPE}
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        missing_ok: bool = False,
        params: dict[str, str] | None = None,
    ) -> Any:
        response = self.http.request(
            method,
            path,
            json=body,
            params=params,
            headers={"Content-Type": CONTENT_TYPE} if body is not None else None,
        )
        if missing_ok and response.status_code == 404:
            return None
        if response.is_error:
            raise RegistryRequestError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def latest(self, subject: str) -> dict[str, Any] | None:
        return self._call("GET", f"subjects/{subject}/versions/latest", missing_ok=True)  # type: ignore[no-any-return]

    def lookup(self, subject: str, schema: str) -> dict[str, Any] | None:
        return self._call("POST", f"subjects/{subject}", {"schema": schema}, missing_ok=True)  # type: ignore[no-any-return]

    def level(self, subject: str) -> str | None:
        body = self._call("GET", f"config/{subject}", missing_ok=True)
        return None if body is None else body.get("compatibilityLevel") or body.get("compatibility")

    def set_level(self, subject: str, level: str) -> None:
        self._call("PUT", f"config/{subject}", {"compatibility": level})

    def check(self, subject: str, schema: str) -> tuple[bool, list[str]]:
        body = self._call(
            "POST",
            f"compatibility/subjects/{subject}/versions/latest",
            {"schema": schema},
            params={"verbose": "true"},
        )
        return bool(body.get("is_compatible")), list(body.get("messages") or [])

    def register(self, subject: str, schema: str) -> int:
        return int(self._call("POST", f"subjects/{subject}/versions", {"schema": schema})["id"])


def plan_and_apply(registry: Registry, path: Path, *, level: str, dry_run: bool) -> SubjectResult:
    """Bring one subject in line with its ``.avsc`` file (or, with ``dry_run``, say what would change)."""
    text = path.read_text()
    local = json.loads(text)
    schema = json.dumps(local, separators=(",", ":"))
    subject = f"{path.stem}-value"
    current_level = registry.level(subject)
    result = SubjectResult(subject, path, "unchanged", level=level, level_changed=current_level != level)
    if result.level_changed and not dry_run:
        registry.set_level(subject, level)  # before the check, so the check uses this level
    latest = registry.latest(subject)
    if latest is None:
        result.action, result.changes = (
            "create",
            [f"+ {f['name']}: {_type_name(f['type'])}" for f in local.get("fields", [])],
        )
        if not dry_run:
            result.schema_id, result.version = registry.register(subject, schema), 1
        return result
    found = registry.lookup(subject, schema)
    if found is not None and found.get("version") == latest.get("version"):
        result.schema_id, result.version = found.get("id"), found.get("version")
        return result
    result.changes = diff_fields(json.loads(latest["schema"]), local)
    result.compatible, result.messages = registry.check(subject, schema)
    if not result.compatible:
        result.action = "incompatible"
        return result
    result.action = "update"
    if not dry_run:
        result.schema_id = registry.register(subject, schema)
    return result


def report(results: list[SubjectResult], console: Console, *, dry_run: bool) -> None:
    table = Table(title="schemas" + (" (dry run: nothing written)" if dry_run else ""))
    for column in ("subject", "action", "compatibility", "changes"):
        table.add_column(column)
    styles = {"create": "green", "update": "cyan", "unchanged": "dim", "incompatible": "bold red"}
    for r in results:
        verdict = {None: "-", True: "[green]compatible[/]", False: "[red]INCOMPATIBLE[/]"}[r.compatible]
        level = f"{r.level}{' (set)' if r.level_changed else ''}"
        notes = "\n".join(r.changes + [f"[red]{m}[/]" for m in r.messages])
        table.add_row(r.subject, f"[{styles[r.action]}]{r.action}[/]", f"{verdict}\n{level}", notes or "-")
    console.print(table)


def register_schemas(
    registry_url: str | None = None,
    *,
    dry_run: bool = False,
    level: str = "BACKWARD",
    schema_dir: Path = SCHEMA_DIR,
    console: Console | None = None,
    registry: Registry | None = None,
) -> list[SubjectResult]:
    """Register every ``*.avsc`` in ``schema_dir``; prints a table. Check ``action == "incompatible"``."""
    if level not in LEVELS:
        raise ValueError(f"unknown compatibility level {level}; one of {', '.join(LEVELS)}")
    if registry is None:
        if not registry_url:
            raise ValueError(f"no registry URL: pass registry_url (--registry-url or ${REGISTRY_URL_ENV})")
        registry = Registry(registry_url)
    results = [
        plan_and_apply(registry, path, level=level, dry_run=dry_run)
        for path in sorted(schema_dir.glob("*.avsc"))
    ]
    report(results, console or Console(), dry_run=dry_run)
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m schemas.register", description=__doc__)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--compatibility", default="BACKWARD", choices=LEVELS)
    parser.add_argument(
        "--registry-url",
        default=os.environ.get(REGISTRY_URL_ENV) or None,
        help=f"Confluent-compatible registry API root (required; default: ${REGISTRY_URL_ENV})",
    )
    args = parser.parse_args(argv)
    if not args.registry_url:
        parser.error(f"the following arguments are required: --registry-url (or set ${REGISTRY_URL_ENV})")
    results = register_schemas(args.registry_url, dry_run=args.dry_run, level=args.compatibility)
    return 1 if any(r.action == "incompatible" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
