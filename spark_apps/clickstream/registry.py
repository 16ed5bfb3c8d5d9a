"""Fetch the value schema from the Confluent-compatible registry (at start, never pasted in code)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx


def subject_for(topic: str) -> str:
    """Confluent's TopicNameStrategy: ``<topic>-value``."""
    return f"{topic}-value"


def latest_schema(registry_url: str, subject: str, timeout_s: float = 10.0) -> tuple[int, str]:
    """``(schema id, schema JSON)`` of the subject's latest version."""
    url = f"{registry_url.rstrip('/')}/subjects/{subject}/versions/latest"
    response = httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    body = response.json()
    if body.get("schemaType", "AVRO") != "AVRO":
        raise ValueError(f"{subject} is {body['schemaType']}, not AVRO")
    return int(body["id"]), str(body["schema"])


def wait_for_latest(registry_url: str, subject: str, log: Callable[[str], None]) -> tuple[int, str]:
    """``latest_schema``, retried with backoff while the registry or the subject is not there yet
    (the app starts with the stack; the schema is registered by ``dataplat schemas register``)."""
    delay = 1.0
    while True:
        try:
            return latest_schema(registry_url, subject)
        except (httpx.HTTPError, KeyError, ValueError) as error:
            log(f"schema {subject} not available from {registry_url} ({error}); retrying in {delay:.0f}s")
        time.sleep(delay)
        delay = min(delay * 2, 30.0)


def schema_by_id(registry_url: str, schema_id: int, timeout_s: float = 10.0) -> str:
    response = httpx.get(f"{registry_url.rstrip('/')}/schemas/ids/{schema_id}", timeout=timeout_s)
    response.raise_for_status()
    return str(response.json()["schema"])
