"""``superset-setup``: the Trino database, datasets, charts and the ``clickstream`` dashboard.

Runs once Superset and Trino are healthy (``python -m dataplat.setup.superset``): signs in through
the REST API and matches everything by name. Superset cannot create a dataset for a table that does
not exist yet, so setup makes what it can and leaves its stamp only once every table existed: until
then each ``dataplat up`` runs it again and completes the dashboard (it exits 0 either way, saying
what is pending).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from dataplat.services.superset import ADMIN_USER, PASSWORD_SECRET, base_url, setup_stamp
from dataplat.settings import Settings
from dataplat.setup import oneshot
from dataplat.setup.rest import checked, upsert

DATABASE_NAME = "Trino lake"
DASHBOARD_SLUG = "clickstream"
DASHBOARD_TITLE = "Clickstream"


# -- what setup creates ----------------------------------------------------------------------------
def _sum(column: str, label: str) -> dict[str, Any]:
    """An ad-hoc SQL metric (Trino needs ``"count"`` quoted)."""
    return {"expressionType": "SQL", "sqlExpression": f'SUM("{column}")', "label": label}


@dataclass(frozen=True)
class Chart:
    name: str
    dataset: str  # key of DATASETS
    viz_type: str
    params: Mapping[str, Any] = field(default_factory=dict)
    width: int = 6  # of 12 grid columns


DATASETS = {  # key -> (schema, table) in the hive catalog
    "clickstream_counts": ("clickstream", "clickstream_counts"),
    "grouped_insights": ("trusted", "grouped_insights"),
}
CHARTS = (
    Chart(
        "Events per 5-second window",
        "clickstream_counts",
        "echarts_timeseries_line",
        {
            "x_axis": "window_start",
            "time_grain_sqla": "PT5S",
            "metrics": [_sum("count", "events")],
            "time_range": 'DATEADD(DATETIME("now"), -1, hour) : now',  # the live hour, not all history
        },
        width=12,
    ),
    Chart(
        "Top pages",
        "clickstream_counts",
        "pie",
        {"groupby": ["page"], "metric": _sum("count", "events"), "row_limit": 10, "sort_by_metric": True},
    ),
    Chart(
        "Events per day",
        "grouped_insights",
        "echarts_timeseries_bar",
        {
            "x_axis": "date",
            "time_grain_sqla": "P1D",
            "metrics": [_sum("events", "events")],
            "groupby": ["event_name"],
            "stack": "Stack",
        },
    ),
)


def dashboard_url(s: Settings) -> str:
    return f"{base_url(s)}/superset/dashboard/{DASHBOARD_SLUG}/"


def form_data(chart: Chart, dataset_id: int) -> dict[str, Any]:
    return {
        "datasource": f"{dataset_id}__table",
        "viz_type": chart.viz_type,
        "time_range": "No filter",
        "adhoc_filters": [],
        "row_limit": 10000,
        **chart.params,
    }


def position_json(charts: list[tuple[Chart, int]]) -> dict[str, Any]:
    """The dashboard layout: charts in rows of up to 12 columns, in the order given."""
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
    }
    row, used = "", 12
    for chart, chart_id in charts:
        if used + chart.width > 12:
            row, used = f"ROW-{len(layout['GRID_ID']['children']) + 1}", 0
            layout["GRID_ID"]["children"].append(row)
            layout[row] = {
                "type": "ROW",
                "id": row,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
        key = f"CHART-{chart_id}"
        layout[row]["children"].append(key)
        layout[key] = {
            "type": "CHART",
            "id": key,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {"width": chart.width, "height": 50, "chartId": chart_id, "sliceName": chart.name},
        }
        used += chart.width
    return layout


def trino_uri(s: Settings) -> str:
    """SQLAlchemy URI of the lake: Trino's ``hive`` catalog as user ``superset``."""
    url = urlsplit(s.trino_url)
    tls = "?protocol=https" if url.scheme == "https" else ""
    return f"trino://superset@{url.hostname}:{url.port or 8080}/hive{tls}"


# -- REST API client ---------------------------------------------------------------------------------
class Api:
    """Superset's REST API with a bearer token and the session's CSRF token."""

    def __init__(self, client: httpx.Client, username: str, password: str) -> None:
        self.client = client
        login = {"username": username, "password": password, "provider": "db", "refresh": False}
        token = checked(client.post("/api/v1/security/login", json=login))["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        csrf = checked(client.get("/api/v1/security/csrf_token/"))["result"]
        client.headers.update({"X-CSRFToken": csrf, "Referer": str(client.base_url)})

    def find(self, resource: str, column: str, value: str) -> dict[str, Any] | None:
        rison = f"(filters:!((col:{column},opr:eq,value:'{value}')),page_size:100)"
        found = checked(self.client.get(f"/api/v1/{resource}/", params={"q": rison}))["result"]
        return found[0] if found else None

    def upsert(self, resource: str, column: str, body: dict[str, Any]) -> int:
        """Create ``body`` or update the item whose ``column`` equals ``body[column]``; its id."""
        existing = self.find(resource, column, body[column])
        old = int(existing["id"]) if existing else None
        return upsert(self.client, f"/api/v1/{resource}/", body, old, lambda reply: int(reply["id"]))

    def create_dataset(self, database_id: int, schema: str, table: str) -> int | None:
        """The physical dataset's id, or None while the table does not exist (HTTP 422)."""
        if existing := self.find("dataset", "table_name", table):
            return int(existing["id"])
        body = {"database": database_id, "schema": schema, "table_name": table}
        response = self.client.post("/api/v1/dataset/", json=body)
        if response.status_code == httpx.codes.UNPROCESSABLE_ENTITY:
            return None
        return int(checked(response)["id"])


def configure(client: httpx.Client, password: str, s: Settings) -> oneshot.Result:
    """Create or update database, datasets, charts and dashboard; pending while tables are missing."""
    api = Api(client, ADMIN_USER, password)
    database = {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": trino_uri(s),
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_dml": False,
    }
    database_id = api.upsert("database", "database_name", database)
    made: dict[str, object] = {DATABASE_NAME: database_id}
    datasets = {key: api.create_dataset(database_id, *table) for key, table in DATASETS.items()}
    missing = [".".join(DATASETS[key]) for key, ident in datasets.items() if ident is None]
    charts: list[tuple[Chart, int]] = []
    for chart in CHARTS:
        if (dataset_id := datasets[chart.dataset]) is None:
            continue
        body = {
            "slice_name": chart.name,
            "viz_type": chart.viz_type,
            "datasource_id": dataset_id,
            "datasource_type": "table",
            "params": json.dumps(form_data(chart, dataset_id)),
        }
        chart_id = api.upsert("chart", "slice_name", body)
        charts.append((chart, chart_id))
        made[chart.name] = chart_id
    dashboard = {
        "dashboard_title": DASHBOARD_TITLE,
        "slug": DASHBOARD_SLUG,
        "published": True,
        "position_json": json.dumps(position_json(charts)),
        "json_metadata": json.dumps({"refresh_frequency": 30, "color_scheme": "supersetColors"}),
    }
    dashboard_id = api.upsert("dashboard", "slug", dashboard)
    made[f"dashboard {DASHBOARD_SLUG}"] = dashboard_id
    for _chart, chart_id in charts:
        checked(client.put(f"/api/v1/chart/{chart_id}", json={"dashboards": [dashboard_id]}))
    if missing:
        pending = f"dashboard '{DASHBOARD_SLUG}' created without {', '.join(missing)} (not in the lake yet)"
        return oneshot.Result(made=made, pending=pending)
    return oneshot.Result(made=made, done=f"dashboard ready at {dashboard_url(s)}")


STEP = oneshot.SetupStep(
    tool="superset",
    password_secret=PASSWORD_SECRET,
    base_url=base_url,
    stamp=setup_stamp,
    configure=configure,
    timeout_s=120.0,
)

if __name__ == "__main__":
    oneshot.main(STEP)
