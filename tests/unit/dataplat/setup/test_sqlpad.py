"""``sqlpad-setup`` against an in-memory SQLPad API: sign-up once, connections and queries by name."""

from __future__ import annotations

import httpx
import pytest

from dataplat.errors import DataplatError
from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings
from dataplat.setup import oneshot
from dataplat.setup import sqlpad as setup

from .conftest import FakeService, body_of

SINGULAR = {"connections": "connection", "queries": "query"}


class FakeSqlpad(FakeService):
    def __init__(self) -> None:
        super().__init__()
        self.password: str | None = None

    def route(self, request: httpx.Request) -> httpx.Response:
        body, parts = body_of(request), request.url.path.strip("/").split("/")  # api, kind[, id]
        if parts[1] == "signin":
            ok = self.password is not None and body["password"] == self.password
            return httpx.Response(200 if ok else 401, json={})
        if parts[1] == "signup":
            if self.password is not None or body["password"] != body["passwordConfirmation"]:
                return httpx.Response(400, text="Email address not whitelisted or already signed up")
            self.password = body["password"]
            return httpx.Response(200, json={})
        kind = parts[1]
        items = self.items.setdefault(kind, {})
        if request.method == "GET":
            return httpx.Response(200, json={kind: [{"_id": i, **item} for i, item in items.items()]})
        if request.method == "POST":
            ident = self.create(kind, body)
        else:  # PUT /api/<kind>/<id>
            ident = parts[2]
            if ident not in items:
                return httpx.Response(404, text="not found")
            items[ident] = body
        return httpx.Response(200, json={SINGULAR[kind]: {"_id": ident, **body}})


def test_connections_point_at_trino(settings: Settings) -> None:
    lake, live = setup.connections(settings)
    assert lake == {
        "name": "Trino lake (hive)", "driver": "presto", "host": "127.0.0.1", "port": "8080",
        "username": "sqlpad", "prestoCatalog": "hive",
    }  # fmt: skip
    assert live["prestoCatalog"] == "kafka" and live["prestoSchema"] == "default"
    queries = {query.name: query for query in setup.saved_queries(settings)}
    assert set(queries) == {"insights", "grouped_insights", "clickstream counts", "live clicks (kafka)"}
    assert 'FROM kafka.default."appclickstream"' in queries["live clicks (kafka)"].sql
    assert queries["live clicks (kafka)"].connection == live["name"]


def test_first_run_signs_up_and_creates_everything_a_rerun_updates(settings: Settings) -> None:
    fake = FakeSqlpad()
    assert oneshot.run(setup.STEP, settings, transport=fake.transport()) == 0
    assert fake.password == get_secret(paths_for(settings).secrets_file, "SQLPAD_ADMIN_PASSWORD")
    connections, queries = fake.named("connections"), fake.named("queries")
    assert set(connections) == {"Trino lake (hive)", "Trino live clicks (kafka)"}
    assert len(queries) == 4
    ids = {name: ident for ident, item in fake.items["connections"].items() for name in [item["name"]]}
    assert queries["insights"]["connectionId"] == ids["Trino lake (hive)"]
    assert queries["insights"]["tags"] == ["batch"]
    stamp = paths_for(settings).data / "sqlpad" / "setup.done"
    assert stamp.read_text().splitlines() == [*connections, *queries]

    fake.calls.clear()
    assert oneshot.run(setup.STEP, settings, transport=fake.transport()) == 0
    assert len(fake.items["connections"]) == 2 and len(fake.items["queries"]) == 4  # no duplicates
    assert ("POST", "/api/signup") not in fake.calls
    assert [call for call in fake.calls if call[0] in ("POST", "PUT")][1:] == [
        ("PUT", f"/api/{kind}/{ident}") for kind in ("connections", "queries") for ident in fake.items[kind]
    ]


def test_someone_else_signed_up_first(settings: Settings) -> None:
    fake = FakeSqlpad()
    fake.password = "chosen-by-someone-else"
    with pytest.raises(DataplatError, match="refused the admin's sign-in and sign-up"):
        oneshot.run(setup.STEP, settings, transport=fake.transport())
    assert not (paths_for(settings).data / "sqlpad" / "setup.done").exists()
