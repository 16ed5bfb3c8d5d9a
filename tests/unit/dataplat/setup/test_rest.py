"""The REST helpers the setup steps share."""

from __future__ import annotations

import httpx
import pytest

from dataplat.errors import DataplatError
from dataplat.setup.rest import checked, upsert

from .conftest import body_of


def client(answers: list[tuple[str, str, object]], status: int = 200) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        answers.append((request.method, request.url.path, body_of(request)))
        return httpx.Response(status, json={"id": 7})

    return httpx.Client(base_url="http://svc", transport=httpx.MockTransport(handle))


def test_checked_names_the_failed_call() -> None:
    with pytest.raises(DataplatError, match=r"POST /api/things: HTTP 422 .*bad name"):
        checked(httpx.Response(422, text="bad name", request=httpx.Request("POST", "http://svc/api/things")))
    ok = httpx.Response(200, json={"a": 1}, request=httpx.Request("GET", "http://svc/x"))
    assert checked(ok) == {"a": 1}


def test_upsert_posts_new_and_puts_existing() -> None:
    calls: list[tuple[str, str, object]] = []
    with client(calls) as c:
        assert upsert(c, "/api/v1/chart/", {"n": 1}, None, lambda reply: int(reply["id"])) == 7
        assert upsert(c, "/api/v1/chart/", {"n": 2}, 3, lambda reply: int(reply["id"])) == 3
        assert upsert(c, "/api/queries", {"n": 3}, "q1", lambda reply: "unused") == "q1"
    assert calls == [
        ("POST", "/api/v1/chart/", {"n": 1}),
        ("PUT", "/api/v1/chart/3", {"n": 2}),
        ("PUT", "/api/queries/q1", {"n": 3}),
    ]


def test_upsert_fails_loudly() -> None:
    with client([], status=500) as c, pytest.raises(DataplatError, match="HTTP 500"):
        upsert(c, "/api/queries", {}, None, str)
