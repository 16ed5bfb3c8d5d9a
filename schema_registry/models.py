"""Request bodies and response shapes of the Confluent REST API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schema_registry.store import Version


class SchemaReference(BaseModel):
    name: str
    subject: str
    version: int


class SchemaRequest(BaseModel):
    """Body of register, lookup and compatibility calls, read as Confluent's Jackson reads it:
    unknown properties ignored, numbers taken as text, a missing or null value as absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)

    schema_: str | None = Field(default=None, alias="schema")
    schema_type: str | None = Field(default=None, alias="schemaType")
    references: list[SchemaReference] | None = None
    metadata: dict[str, Any] | None = None
    rule_set: dict[str, Any] | None = Field(default=None, alias="ruleSet")


class ConfigRequest(BaseModel):
    """Body of ``PUT /config``: the Python client sends ``compatibility``, others ``compatibilityLevel``."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    compatibility: str | None = None
    compatibilityLevel: str | None = None

    @property
    def level(self) -> str | None:
        return self.compatibility or self.compatibilityLevel


def is_empty(body: SchemaRequest) -> bool:
    """No schema text: Confluent's "Empty schema" (or, on register, the latest version's schema)."""
    return not (body.schema_ or "").strip()


def schema_fields(schema: str, schema_type: str) -> dict[str, Any]:
    """``schema`` plus ``schemaType`` when it is not AVRO (Confluent omits the default)."""
    return {"schema": schema} if schema_type == "AVRO" else {"schemaType": schema_type, "schema": schema}


def version_body(version: Version) -> dict[str, Any]:
    """A subject version; ``"deleted": true`` marks a soft-deleted one (read with ``?deleted=true``)."""
    return {
        "subject": version.subject,
        "version": version.version,
        "id": version.schema_id,
        **schema_fields(version.schema, version.schema_type),
        **({"deleted": True} if version.deleted else {}),
    }
