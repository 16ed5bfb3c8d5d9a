"""What the REST setup steps share: checked calls and create-or-update of a named item."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from dataplat.errors import DataplatError

Id = TypeVar("Id", str, int)


def checked(response: httpx.Response) -> Any:
    """The JSON body of a successful answer; a 4xx/5xx raises naming the call, status and body."""
    if response.status_code >= httpx.codes.BAD_REQUEST:
        raise DataplatError(
            f"{response.request.method} {response.request.url.path}: "
            f"HTTP {response.status_code} {response.text[:300]}"
        )
    return response.json()


def upsert(
    client: httpx.Client,
    collection: str,
    body: Mapping[str, Any],
    existing: Id | None,
    created_id: Callable[[Any], Id],
) -> Id:
    """PUT ``body`` to ``collection/<existing>``, or POST it to ``collection``; the item's id.

    ``existing`` is the id of the item found by name (None: create it); ``created_id`` reads the
    new item's id from the POST's answer.
    """
    if existing is not None:
        checked(client.put(f"{collection.rstrip('/')}/{existing}", json=body))
        return existing
    return created_id(checked(client.post(collection, json=body)))
