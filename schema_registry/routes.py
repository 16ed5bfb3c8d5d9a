"""The REST endpoints (Confluent Schema Registry API subset, AVRO only)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from schema_registry import errors
from schema_registry.avro_schema import AvroSchema, InvalidSchemaError, parse, parse_cached
from schema_registry.compatibility import DEFAULT_LEVEL, LEVELS, first_incompatible
from schema_registry.errors import RegistryError
from schema_registry.models import ConfigRequest, SchemaRequest, is_empty, schema_fields, version_body
from schema_registry.params import LATEST, Flag, SchemaId, check_subject, parse_version, read_body
from schema_registry.store import GLOBAL, IncompatibleError, Store, Version

router = APIRouter()


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def parse_request(body: SchemaRequest) -> AvroSchema:
    """The request's schema, or 42201 with Confluent's message shape."""
    if is_empty(body):
        raise errors.invalid_schema("Empty schema")
    schema_type = body.schema_type or "AVRO"
    if schema_type.upper() != "AVRO":
        raise errors.invalid_schema(
            f"Invalid schema type {schema_type}: this registry (a stand-in for a Confluent or "
            "Apicurio registry) stores AVRO schemas only"
        )
    if body.references:
        raise errors.invalid_schema(
            "Schema references are not supported by this registry; inline the named types"
        )
    try:
        return parse(body.schema_ or "")
    except InvalidSchemaError as error:
        raise errors.invalid_schema(f"Invalid schema of type AVRO, details: {error}") from error


def find_version(store: Store, subject: str, number: int, *, deleted: bool = False) -> Version | None:
    """The version ``number``; ``latest`` is the newest live one whatever ``deleted`` says."""
    return store.latest(subject) if number == LATEST else store.version(subject, number, deleted=deleted)


def resolve_version(store: Store, subject: str, version: str, *, deleted: bool = False) -> Version:
    """The version or 40401 (no version left, soft-deleted ones counted with ``deleted``) or 40402."""
    number = parse_version(version)
    found = find_version(store, subject, number, deleted=deleted)
    if found is None:
        if not store.subject_exists(subject, deleted=deleted):
            raise errors.subject_not_found(subject)
        raise errors.version_not_found(number)
    return found


def effective_level(store: Store, subject: str) -> str:
    return store.config(subject) or store.config(GLOBAL) or DEFAULT_LEVEL


def compatibility_messages(new: AvroSchema, versions: list[Version], level: str) -> list[str]:
    """Confluent's list: why the newest breaking version breaks, that version, its schema, the level."""
    failure = first_incompatible(new, [(v.version, parse_cached(v.schema)) for v in versions], level)
    if failure is None:
        return []
    number, reasons = failure
    old = next(v.schema for v in versions if v.version == number)
    return [
        *reasons,
        f"{{oldSchemaVersion: {number}}}",
        f"{{oldSchema: '{old}'}}",
        f"{{validateFields: 'false', compatibility: '{level}'}}",
    ]


# -- root, types -----------------------------------------------------------------------------
@router.get("/")
async def root() -> dict[str, Any]:
    return {}


@router.get("/schemas/types")
async def schema_types() -> list[str]:
    return ["AVRO"]


# -- subjects ----------------------------------------------------------------------------------
@router.get("/subjects")
async def list_subjects(store: StoreDep, deleted: Flag = False, subjectPrefix: str = "") -> list[str]:
    return store.subjects(deleted=deleted, prefix=subjectPrefix)


@router.post("/subjects/{subject}/versions")
async def register(subject: str, request: Request, store: StoreDep) -> dict[str, Any]:
    body = await read_body(request, SchemaRequest)
    check_subject(subject)  # before the schema, as Confluent
    latest = store.latest(subject) if is_empty(body) else None
    if latest is not None:  # Confluent registers the latest schema again: same id, no new version
        return {"id": latest.schema_id}
    new = parse_request(body)
    level = effective_level(store, subject)
    try:
        version, _ = store.register(
            subject, new.canonical, "AVRO", lambda live: compatibility_messages(new, live, level)
        )
    except IncompatibleError as error:
        raise errors.incompatible(subject, error.messages) from error
    return {"id": version.schema_id}  # only the id: older Java clients refuse unknown properties


@router.post("/subjects/{subject}")
async def lookup(subject: str, request: Request, store: StoreDep, deleted: Flag = False) -> dict[str, Any]:
    body = await read_body(request, SchemaRequest)
    new = None if is_empty(body) else parse_request(body)  # nothing matches an empty schema
    found = None if new is None else store.find(subject, new.canonical, "AVRO", deleted=deleted)
    if found is None:
        if not store.subject_exists(subject, deleted=deleted):
            raise errors.subject_not_found(subject)
        raise errors.schema_not_found()
    return version_body(found)


@router.get("/subjects/{subject}/versions")
async def list_versions(subject: str, store: StoreDep, deleted: Flag = False) -> list[int]:
    versions = store.versions(subject, deleted=deleted)
    if not versions:
        raise errors.subject_not_found(subject)
    return [v.version for v in versions]


@router.get("/subjects/{subject}/versions/{version}")
async def get_version(subject: str, version: str, store: StoreDep, deleted: Flag = False) -> dict[str, Any]:
    return version_body(resolve_version(store, subject, version, deleted=deleted))


@router.get("/subjects/{subject}/versions/{version}/schema")
async def get_version_schema(subject: str, version: str, store: StoreDep, deleted: Flag = False) -> Any:
    return json.loads(resolve_version(store, subject, version, deleted=deleted).schema)


@router.get("/subjects/{subject}/versions/{version}/referencedby")
async def referenced_by(subject: str, version: str, store: StoreDep) -> list[int]:
    resolve_version(store, subject, version, deleted=True)  # as Confluent: soft-deleted ones too
    return []  # references are not supported, so nothing refers to anything


@router.delete("/subjects/{subject}")
async def delete_subject(subject: str, store: StoreDep, permanent: Flag = False) -> list[int]:
    everything = store.versions(subject, deleted=True)
    if not everything:
        raise errors.subject_not_found(subject)
    live = [v.version for v in everything if not v.deleted]
    if permanent:
        if live:
            raise errors.subject_not_soft_deleted(subject)
        numbers = [v.version for v in everything]
        store.hard_delete(subject, numbers)
        return numbers
    if not live:
        raise errors.subject_soft_deleted(subject)
    store.soft_delete(subject, live)
    return live


@router.delete("/subjects/{subject}/versions/{version}")
async def delete_version(subject: str, version: str, store: StoreDep, permanent: Flag = False) -> int:
    number = parse_version(version)
    found = find_version(store, subject, number, deleted=True)
    if found is None:
        if not store.subject_exists(subject, deleted=True):
            raise errors.subject_not_found(subject)
        raise errors.version_not_found(number)
    if permanent:
        if not found.deleted:
            raise errors.version_not_soft_deleted(subject, found.version)
        store.hard_delete(subject, [found.version])
    else:
        if found.deleted:
            raise errors.version_soft_deleted(subject, found.version)
        store.soft_delete(subject, [found.version])
    return found.version


# -- schemas by id -----------------------------------------------------------------------------
def _schema_or_404(store: Store, schema_id: int, *, with_id: bool = True) -> tuple[str, str]:
    found = store.schema(schema_id)
    if found is None:
        raise errors.schema_not_found(schema_id if with_id else None)
    return found


@router.get("/schemas/ids/{schema_id}")
async def get_schema(schema_id: SchemaId, store: StoreDep) -> dict[str, Any]:
    schema_type, schema = _schema_or_404(store, schema_id)
    return schema_fields(schema, schema_type)


@router.get("/schemas/ids/{schema_id}/schema")
async def get_raw_schema(schema_id: SchemaId, store: StoreDep) -> Any:
    return json.loads(_schema_or_404(store, schema_id)[1])


@router.get("/schemas/ids/{schema_id}/subjects")
async def schema_subjects(schema_id: SchemaId, store: StoreDep, deleted: Flag = False) -> list[str]:
    _schema_or_404(store, schema_id, with_id=False)
    return sorted({subject for subject, _ in store.usages(schema_id, deleted=deleted)})


@router.get("/schemas/ids/{schema_id}/versions")
async def schema_versions(
    schema_id: SchemaId, store: StoreDep, deleted: Flag = False
) -> list[dict[str, Any]]:
    _schema_or_404(store, schema_id, with_id=False)
    return [{"subject": s, "version": v} for s, v in store.usages(schema_id, deleted=deleted)]


# -- config --------------------------------------------------------------------------------------
async def _level_from(request: Request) -> str:
    level = (await read_body(request, ConfigRequest)).level
    if not level or level.upper() not in LEVELS:
        raise errors.invalid_compatibility()
    return level.upper()


@router.get("/config")
async def get_global_config(store: StoreDep) -> dict[str, str]:
    return {"compatibilityLevel": store.config(GLOBAL) or DEFAULT_LEVEL}


@router.put("/config")
async def put_global_config(request: Request, store: StoreDep) -> dict[str, str]:
    level = await _level_from(request)
    store.set_config(GLOBAL, level)
    return {"compatibility": level}


@router.delete("/config")
async def delete_global_config(store: StoreDep) -> dict[str, str]:
    old = store.config(GLOBAL) or DEFAULT_LEVEL
    store.delete_config(GLOBAL)
    return {"compatibilityLevel": old}


@router.get("/config/{subject}")
async def get_subject_config(subject: str, store: StoreDep, defaultToGlobal: Flag = False) -> dict[str, str]:
    level = store.config(subject)
    if level is None:
        if not defaultToGlobal:
            raise errors.no_subject_config(subject)
        level = store.config(GLOBAL) or DEFAULT_LEVEL
    return {"compatibilityLevel": level}


@router.put("/config/{subject}")
async def put_subject_config(subject: str, request: Request, store: StoreDep) -> dict[str, str]:
    level = await _level_from(request)
    check_subject(subject)
    store.set_config(subject, level)
    return {"compatibility": level}


@router.delete("/config/{subject}")
async def delete_subject_config(subject: str, store: StoreDep) -> dict[str, str]:
    level = store.config(subject)
    if level is None:
        raise errors.subject_not_found(subject)  # Confluent: 40401 here, not 40408
    store.delete_config(subject)
    return {"compatibilityLevel": level}


@router.get("/mode")
async def get_mode() -> dict[str, str]:
    return {"mode": "READWRITE"}


# -- compatibility -----------------------------------------------------------------------------
def _compatibility_body(messages: list[str], verbose: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"is_compatible": not messages}
    if verbose:
        body["messages"] = messages
    return body


def _check(body: SchemaRequest, versions: list[Version], level: str, verbose: bool) -> dict[str, Any]:
    """The answer; with ``verbose`` a schema that does not parse is an incompatible one, its reason
    the one message (Confluent's CompatibilityResource), else 42201."""
    try:
        new = parse_request(body)
    except RegistryError as error:
        if not verbose:
            raise
        return _compatibility_body([error.message], verbose)
    return _compatibility_body(compatibility_messages(new, versions, level), verbose)


@router.post("/compatibility/subjects/{subject}/versions/{version}")
async def test_against_version(
    subject: str, version: str, request: Request, store: StoreDep, verbose: Flag = False
) -> dict[str, Any]:
    body = await read_body(request, SchemaRequest)
    number = parse_version(version)
    target = find_version(store, subject, number)
    if target is None and number != LATEST:  # Confluent never says 40401 here
        raise errors.version_not_found(number)
    return _check(body, [target] if target else [], effective_level(store, subject), verbose)


@router.post("/compatibility/subjects/{subject}/versions")
async def test_against_all(
    subject: str, request: Request, store: StoreDep, verbose: Flag = False
) -> dict[str, Any]:
    body = await read_body(request, SchemaRequest)
    return _check(body, store.versions(subject), effective_level(store, subject), verbose)
