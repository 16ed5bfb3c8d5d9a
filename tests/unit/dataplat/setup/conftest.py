"""Settings from the code's defaults in a temporary home, and a fake REST service for setup steps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataplat.settings import Settings


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    for key in list(os.environ):
        if key.startswith("DATAPLAT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATAPLAT_CONFIG", str(tmp_path / "absent.toml"))
    return Settings(home=tmp_path / "home", cache=tmp_path / "cache")


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class FakeService:
    """In-memory collections of a REST API, answering through :class:`httpx.MockTransport`."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        self._next = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def create(self, kind: str, body: dict[str, Any]) -> str:
        self._next += 1
        ident = str(self._next)
        self.items.setdefault(kind, {})[ident] = dict(body)
        return ident

    def named(self, kind: str, key: str = "name") -> dict[str, dict[str, Any]]:
        return {item[key]: item for item in self.items.get(kind, {}).values()}
