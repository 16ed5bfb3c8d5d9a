"""Readiness probes that check a service's real contract, each returning a reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from dataplat.spec import Probe, Readiness

JsonCheck = Callable[[Any], str | None]  # returns None when the body is what we wait for


def http_probe(
    url: str,
    *,
    expect_status: int = 200,
    check: JsonCheck | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 3.0,
) -> Probe:
    """Ready when ``url`` answers ``expect_status`` and ``check(json_body)`` finds nothing wrong."""

    def probe() -> Readiness:
        try:
            response = httpx.get(url, headers=headers, timeout=timeout_s)
        except httpx.HTTPError as error:
            return Readiness.waiting(f"{url}: {type(error).__name__}")
        if response.status_code != expect_status:
            return Readiness.waiting(f"{url}: HTTP {response.status_code}")
        if check is not None:
            try:
                problem = check(response.json())
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                return Readiness.waiting(f"{url}: unexpected body ({error})")
            if problem:
                return Readiness.waiting(problem)
        return Readiness.ready(f"{url} answered")

    return probe


def callable_probe(describe: str, fn: Callable[[], str | None]) -> Probe:
    """Wrap a client call: ``fn`` returns None when ready, else the reason; exceptions mean waiting."""

    def probe() -> Readiness:
        try:
            problem = fn()
        except Exception as error:  # noqa: BLE001 - any client error means "not yet"
            return Readiness.waiting(f"{describe}: {type(error).__name__}: {error}"[:300])
        return Readiness.waiting(problem) if problem else Readiness.ready(describe)

    return probe
