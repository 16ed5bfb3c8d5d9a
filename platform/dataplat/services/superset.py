"""Apache Superset 6.1.0 from its own venv: dashboards over Trino, set up through its API.

Three processes: ``superset-init`` (oneshot, Superset's own CLI: ``db upgrade``, ``fab
create-admin``, ``init``), the ``superset`` daemon (gunicorn, one gthread worker; SQLite metadata
in ``data/superset``; ready when ``/health`` says OK) and ``superset-setup`` (oneshot, ``python -m
dataplat.services.superset``), which signs in through the REST API and creates the Trino database,
the datasets, the charts and the ``clickstream`` dashboard, matching everything by name.

Superset cannot create a dataset for a table that does not exist yet, so setup makes what it can
and leaves its stamp only once every table existed: until then each ``dataplat up`` runs it again
and completes the dashboard (it exits 0 either way, saying what is pending).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from dataplat.errors import DataplatError
from dataplat.paths import Paths, paths_for
from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.settings import Settings, get_settings
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec
from dataplat.superset_install import superset_bin, venv_dir

VERSION = "6.1.0"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@dataplat.local"
PASSWORD_SECRET = "SUPERSET_ADMIN_PASSWORD"  # noqa: S105 - the name of a generated secret
DATABASE_NAME = "Trino lake"
DASHBOARD_SLUG = "clickstream"
DASHBOARD_TITLE = "Clickstream"
SETUP_STAMP = "setup.done"


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
        token = self._ok(client.post("/api/v1/security/login", json=login))["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        csrf = self._ok(client.get("/api/v1/security/csrf_token/"))["result"]
        client.headers.update({"X-CSRFToken": csrf, "Referer": str(client.base_url)})

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise DataplatError(f"{response.request.method} {response.request.url.path}: "
                                f"HTTP {response.status_code} {response.text[:300]}")  # fmt: skip
        return response.json()

    def find(self, resource: str, column: str, value: str) -> dict[str, Any] | None:
        rison = f"(filters:!((col:{column},opr:eq,value:'{value}')),page_size:100)"
        found = self._ok(self.client.get(f"/api/v1/{resource}/", params={"q": rison}))["result"]
        return found[0] if found else None

    def upsert(self, resource: str, column: str, body: dict[str, Any], update: bool = True) -> int:
        """Create ``body`` or update the item whose ``column`` equals ``body[column]``; its id."""
        if existing := self.find(resource, column, body[column]):
            if update:
                self._ok(self.client.put(f"/api/v1/{resource}/{existing['id']}", json=body))
            return int(existing["id"])
        return int(self._ok(self.client.post(f"/api/v1/{resource}/", json=body))["id"])

    def create_dataset(self, database_id: int, schema: str, table: str) -> int | None:
        """The physical dataset's id, or None while the table does not exist (HTTP 422)."""
        if existing := self.find("dataset", "table_name", table):
            return int(existing["id"])
        body = {"database": database_id, "schema": schema, "table_name": table}
        response = self.client.post("/api/v1/dataset/", json=body)
        if response.status_code == httpx.codes.UNPROCESSABLE_ENTITY:
            return None
        return int(self._ok(response)["id"])


def setup(url: str, password: str, s: Settings) -> list[str]:
    """Create or update database, datasets, charts and dashboard; returns the missing tables."""
    with httpx.Client(base_url=url, timeout=120.0) as client:
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
            charts.append((chart, api.upsert("chart", "slice_name", body)))
        dashboard = {
            "dashboard_title": DASHBOARD_TITLE,
            "slug": DASHBOARD_SLUG,
            "published": True,
            "position_json": json.dumps(position_json(charts)),
            "json_metadata": json.dumps({"refresh_frequency": 30, "color_scheme": "supersetColors"}),
        }
        dashboard_id = api.upsert("dashboard", "slug", dashboard)
        for _chart, chart_id in charts:
            api._ok(client.put(f"/api/v1/chart/{chart_id}", json={"dashboards": [dashboard_id]}))
    return missing


# -- processes ------------------------------------------------------------------------------------
def superset_env(paths: Paths, secrets: Mapping[str, str]) -> dict[str, str]:
    """Environment of every Superset process (pure)."""
    bin_dir = venv_dir(paths) / "bin"
    return {
        "SUPERSET_CONFIG_PATH": str(paths.conf / "superset" / "superset_config.py"),
        "SUPERSET_HOME": str(paths.data / "superset"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "PYTHONUNBUFFERED": "1",
        # click's auto env var for `superset fab create-admin --password` (kept out of argv)
        "FLASK_FAB_CREATE_ADMIN_PASSWORD": secrets[PASSWORD_SECRET],
    }


def health_probe(url: str) -> Probe:
    return http_probe(f"{url}/health")


def base_url(s: Settings) -> str:
    return f"http://{s.bind_host}:{s.ports.superset}"


def init_script(paths: Paths) -> str:
    """``superset-init``: migrate, create the admin (an existing one is kept), sync roles."""
    superset = superset_bin(paths)
    admin = f"--username {ADMIN_USER} --firstname Admin --lastname Dataplat --email {ADMIN_EMAIL}"
    stamp = paths.data / "superset" / f"init-{VERSION}.done"
    return (
        f"set -e; {superset} db upgrade; {superset} fab create-admin {admin} </dev/null; "
        f"{superset} init; touch {stamp}"
    )


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    secrets = {
        name: get_secret(paths.secrets_file, name) for name in (PASSWORD_SECRET, "SUPERSET_SECRET_KEY")
    }
    env = superset_env(paths, secrets)
    data, url = paths.data / "superset", base_url(s)
    config = ConfigFile(
        "superset/superset_config.py.j2", paths.conf / "superset" / "superset_config.py", 0o600
    )
    gunicorn = (
        str(venv_dir(paths) / "bin" / "gunicorn"),
        "--bind", f"{s.bind_host}:{s.ports.superset}",
        "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--timeout", "120", "--graceful-timeout", "15",
        "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    )  # fmt: skip
    setup_deps = {"superset": Condition.HEALTHY}
    if not s.external.trino_url:
        setup_deps["trino"] = Condition.HEALTHY
    hint = f"installed by `dataplat install` into {venv_dir(paths)}"
    return [
        ServiceSpec(
            name="superset-init",
            argv=("bash", "-c", init_script(paths)),
            kind=Kind.ONESHOT,
            env=env,
            cwd=data,
            configs=(config,),
            creates=data / f"init-{VERSION}.done",
            start_timeout_s=600,
            hint=f"see {ctx.log_file('superset-init')}; {hint}",
        ),
        ServiceSpec(
            name="superset",
            argv=gunicorn,
            probe=health_probe(url),
            env=env,
            cwd=data,
            ports={"http": s.ports.superset},
            depends_on={"superset-init": Condition.COMPLETED},
            configs=(config,),
            start_timeout_s=300,
            hint=f"see {ctx.log_file('superset')}; {hint}",
            url=url,
        ),
        ServiceSpec(
            name="superset-setup",
            argv=(str(ctx.python_bin), "-m", "dataplat.services.superset"),
            kind=Kind.ONESHOT,
            env={"PYTHONUNBUFFERED": "1"},
            depends_on=setup_deps,
            creates=data / SETUP_STAMP,
            start_timeout_s=300,
            hint=f"see {ctx.log_file('superset-setup')}; admin password: {PASSWORD_SECRET}",
        ),
    ]


def main() -> int:
    """The ``superset-setup`` oneshot; the stamp is written once every table existed."""
    s = get_settings()
    paths = paths_for(s)
    missing = setup(base_url(s), get_secret(paths.secrets_file, PASSWORD_SECRET), s)
    if missing:
        print(f"superset: dashboard '{DASHBOARD_SLUG}' created without {', '.join(missing)} (not in the lake "
              "yet); the next `dataplat up` completes it")  # fmt: skip
        return 0
    stamp = paths.data / "superset" / SETUP_STAMP
    stamp.write_text(f"{base_url(s)}/superset/dashboard/{DASHBOARD_SLUG}/\n")
    print(f"superset: dashboard ready at {base_url(s)}/superset/dashboard/{DASHBOARD_SLUG}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
