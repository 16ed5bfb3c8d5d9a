"""The Avro schemas of ``schemas/<topic>.avsc``, read from the files (no app code, no registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataplat.settings import REPO_ROOT

SCHEMA_DIR = REPO_ROOT / "schemas"


def schema_path(topic: str) -> Path:
    return SCHEMA_DIR / f"{topic}.avsc"


def schema_text(topic: str) -> str:
    """The schema file's text, as registered (``{topic}-value``)."""
    return schema_path(topic).read_text()


def load_schema(topic: str) -> dict[str, Any]:
    """The schema parsed as JSON (a record schema: ``{"type": "record", "fields": [...]}``)."""
    schema = json.loads(schema_text(topic))
    if not isinstance(schema, dict):
        raise ValueError(f"{schema_path(topic)} is not a record schema")
    return schema
