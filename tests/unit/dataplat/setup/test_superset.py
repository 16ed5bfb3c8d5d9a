"""``superset-setup`` against an in-memory Superset API: what exists is updated, missing tables wait."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings
from dataplat.setup import oneshot
from dataplat.setup import superset as setup

from .conftest import FakeService, body_of

FILTER = re.compile(r"col:(\w+),opr:eq,value:'(.*)'\)\)")


class FakeSuperset(FakeService):
    def __init__(self, password: str, tables: set[str]) -> None:
        super().__init__()
        self.password, self.tables = password, tables

    def route(self, request: httpx.Request) -> httpx.Response:
        path, body = request.url.path, body_of(request)
        if path == "/api/v1/security/login":
            ok = body["password"] == self.password
            return httpx.Response(200 if ok else 401, json={"access_token": "token"} if ok else {})
        if request.headers.get("Authorization") != "Bearer token":
            return httpx.Response(401, json={"msg": "no token"})
        if path == "/api/v1/security/csrf_token/":
            return httpx.Response(200, json={"result": "csrf"})
        if request.method != "GET" and request.headers.get("X-CSRFToken") != "csrf":
            return httpx.Response(400, json={"errors": "CSRF"})
        parts = path.strip("/").split("/")  # api, v1, resource[, id]
        resource, items = parts[2], self.items.setdefault(parts[2], {})
        if request.method == "GET":
            match = FILTER.search(request.url.params["q"])
            assert match, request.url.params["q"]
            found = [{"id": int(i), **it} for i, it in items.items() if it.get(match[1]) == match[2]]
            return httpx.Response(200, json={"result": found})
        if request.method == "POST":
            if resource == "dataset" and f"{body['schema']}.{body['table_name']}" not in self.tables:
                return httpx.Response(422, json={"message": "table does not exist"})
            return httpx.Response(201, json={"id": int(self.create(resource, body))})
        items[parts[3]].update(body)
        return httpx.Response(200, json={"id": int(parts[3])})


def password(settings: Settings) -> str:
    return get_secret(paths_for(settings).secrets_file, "SUPERSET_ADMIN_PASSWORD")


def test_layout_rows_of_twelve_columns() -> None:
    wide, half = setup.CHARTS[0], setup.CHARTS[1]
    layout = setup.position_json([(wide, 11), (half, 12), (half, 13), (half, 14)])
    assert layout["GRID_ID"]["children"] == ["ROW-1", "ROW-2", "ROW-3"]
    assert layout["ROW-1"]["children"] == ["CHART-11"]
    assert layout["ROW-2"]["children"] == ["CHART-12", "CHART-13"]
    assert layout["CHART-14"]["parents"] == ["ROOT_ID", "GRID_ID", "ROW-3"]
    assert layout["CHART-11"]["meta"] == {
        "width": 12, "height": 50, "chartId": 11, "sliceName": "Events per 5-second window",
    }  # fmt: skip


def test_trino_uri_and_form_data(settings: Settings) -> None:
    assert setup.trino_uri(settings) == "trino://superset@127.0.0.1:8080/hive"
    tls = settings.model_copy(
        update={"external": settings.external.model_copy(update={"trino_url": "https://t.example"})}
    )
    assert setup.trino_uri(tls) == "trino://superset@t.example:8080/hive?protocol=https"
    data = setup.form_data(setup.CHARTS[1], 5)
    assert data["datasource"] == "5__table" and data["viz_type"] == "pie" and data["groupby"] == ["page"]


def test_waits_for_missing_tables_then_completes(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeSuperset(password(settings), tables={"clickstream.clickstream_counts"})
    stamp = paths_for(settings).data / "superset" / "setup.done"
    assert oneshot.run(setup.STEP, settings, transport=fake.transport()) == 0
    assert not stamp.exists()
    assert "created without trusted.grouped_insights (not in the lake yet)" in capsys.readouterr().out
    assert set(fake.named("chart", "slice_name")) == {"Events per 5-second window", "Top pages"}
    [database] = fake.items["database"].values()
    assert database["sqlalchemy_uri"] == "trino://superset@127.0.0.1:8080/hive"

    fake.tables.add("trusted.grouped_insights")
    assert oneshot.run(setup.STEP, settings, transport=fake.transport()) == 0
    assert stamp.exists()
    assert (
        "dashboard ready at http://127.0.0.1:8088/superset/dashboard/clickstream/" in capsys.readouterr().out
    )
    assert len(fake.items["database"]) == 1 and len(fake.items["dashboard"]) == 1  # updated, not duplicated
    charts = fake.named("chart", "slice_name")
    assert set(charts) == {chart.name for chart in setup.CHARTS}
    [(dashboard_id, dashboard)] = fake.items["dashboard"].items()
    assert all(chart["dashboards"] == [int(dashboard_id)] for chart in charts.values())
    layout: dict[str, Any] = json.loads(dashboard["position_json"])
    assert sum(key.startswith("CHART-") for key in layout) == 3
