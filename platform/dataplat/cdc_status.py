"""Change data capture at a glance: the connector's state, the replication slot's lag, the lake's lag.

Three sources, each read live: Kafka Connect's REST API (connector and task states), PostgreSQL's
``pg_replication_slots`` (WAL the slot holds back and how far the connector's confirmed position
trails the server's), and the CDC app's heartbeat file (commit lag: source commit → lake commit).
``dataplat status`` prints them under the services; ``metrics_text`` renders the same figures in
Prometheus' text format (``dataplat metrics``) for a scraper.
"""

from __future__ import annotations

import json
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from dataplat.paths import Paths
from dataplat.secrets import get_secret
from dataplat.settings import Settings

SLOT_SQL = """
SELECT active,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
  FROM pg_replication_slots WHERE slot_name = %s
"""


@dataclass(frozen=True)
class SlotLag:
    active: bool
    retained_bytes: int  # WAL the server keeps for the slot (restart_lsn → now)
    lag_bytes: int  # confirmed_flush_lsn → now: what the connector has not confirmed yet


@dataclass
class CdcFigures:
    connector: str = "unknown"  # RUNNING / PAUSED / FAILED / ... or why it is unknown
    tasks: list[str] = field(default_factory=list)
    slot: SlotLag | None = None
    slot_error: str | None = None
    app: dict[str, Any] = field(default_factory=dict)  # the CDC app's last heartbeat
    app_age_s: float | None = None


def heartbeat_file(paths: Paths) -> Path:
    """Where the CDC app writes its heartbeat and metrics (``--heartbeat``)."""
    return paths.run / "cdc.heartbeat.json"


def connector_state(settings: Settings) -> tuple[str, list[str]]:
    url = f"{settings.connect_url}/connectors/{settings.cdc.connector}/status"
    try:
        response = httpx.get(url, timeout=3.0)
    except httpx.HTTPError as error:
        return f"Connect unreachable ({type(error).__name__})", []
    if response.status_code == 404:
        return "not registered", []
    if response.status_code != 200:
        return f"HTTP {response.status_code}", []
    body = response.json()
    tasks = [f"{task['id']}:{task['state']}" for task in body.get("tasks", [])]
    return str(body["connector"]["state"]), tasks


def slot_lag(settings: Settings, paths: Paths) -> SlotLag | None:
    """The slot's lag, read as the superuser (None when the slot does not exist yet)."""
    import psycopg2

    from dataplat.services.postgres import SUPERUSER, SUPERUSER_SECRET

    connection = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=SUPERUSER,
        password=get_secret(paths.secrets_file, SUPERUSER_SECRET),
        dbname="postgres",
        connect_timeout=3,
    )
    with closing(connection), connection.cursor() as cursor:
        cursor.execute(SLOT_SQL, (settings.cdc.slot,))
        row = cursor.fetchone()
    if row is None:
        return None
    return SlotLag(active=bool(row[0]), retained_bytes=int(row[1] or 0), lag_bytes=int(row[2] or 0))


def app_heartbeat(paths: Paths) -> tuple[dict[str, Any], float | None]:
    path = heartbeat_file(paths)
    try:
        beat = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}, None
    return beat, time.time() - float(beat.get("ts", 0))


def collect(settings: Settings, paths: Paths) -> CdcFigures:
    figures = CdcFigures()
    figures.connector, figures.tasks = connector_state(settings)
    try:
        figures.slot = slot_lag(settings, paths)
    except Exception as error:  # noqa: BLE001 - shown as the reason, status must still print
        figures.slot_error = f"{type(error).__name__}: {error}".splitlines()[0][:120]
    figures.app, figures.app_age_s = app_heartbeat(paths)
    return figures


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} s"


def cdc_table(figures: CdcFigures, settings: Settings) -> Table:
    """The rows ``dataplat status`` prints under the services."""
    table = Table(title="change data capture", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value")
    tasks = f" (tasks {', '.join(figures.tasks)})" if figures.tasks else ""
    table.add_row(f"connector {settings.cdc.connector}", f"{figures.connector}{tasks}")
    if figures.slot is not None:
        slot = figures.slot
        state = "active" if slot.active else "[yellow]inactive[/]"
        table.add_row(
            f"slot {settings.cdc.slot}",
            f"{state}; lag {_mib(slot.lag_bytes)}; WAL retained {_mib(slot.retained_bytes)}",
        )
    else:
        table.add_row(f"slot {settings.cdc.slot}", figures.slot_error or "not created yet")
    app = figures.app
    if app:
        lag = app.get("commit_lag", {})
        table.add_row(
            "commit lag (source → lake)",
            f"last {_seconds(lag.get('last_s'))}, p50 {_seconds(lag.get('p50_s'))}, "
            f"p95 {_seconds(lag.get('p95_s'))} over {lag.get('samples', 0)} batches",
        )
        table.add_row(
            "cdc app",
            f"{app.get('state', '?')}, batch {app.get('batch_id', '-')}, "
            f"heartbeat {_seconds(figures.app_age_s)} ago, dead letters {app.get('dead_letters', 0)}",
        )
    else:
        table.add_row("cdc app", "no heartbeat yet")
    return table


def metrics_text(figures: CdcFigures, settings: Settings) -> str:
    """The figures in Prometheus' text exposition format."""
    labels = f'connector="{settings.cdc.connector}",slot="{settings.cdc.slot}"'
    lines = [
        "# HELP dataplat_cdc_connector_running 1 when the connector and all its tasks are RUNNING.",
        "# TYPE dataplat_cdc_connector_running gauge",
        f"dataplat_cdc_connector_running{{{labels}}} "
        f"{int(figures.connector == 'RUNNING' and all(t.endswith(':RUNNING') for t in figures.tasks))}",
    ]
    if figures.slot is not None:
        lines += [
            "# HELP dataplat_cdc_slot_lag_bytes WAL from the slot's confirmed flush to now.",
            "# TYPE dataplat_cdc_slot_lag_bytes gauge",
            f"dataplat_cdc_slot_lag_bytes{{{labels}}} {figures.slot.lag_bytes}",
            "# HELP dataplat_cdc_slot_retained_wal_bytes WAL the server keeps for the slot.",
            "# TYPE dataplat_cdc_slot_retained_wal_bytes gauge",
            f"dataplat_cdc_slot_retained_wal_bytes{{{labels}}} {figures.slot.retained_bytes}",
        ]
    lag = figures.app.get("commit_lag", {})
    stats = [(name, lag.get(key)) for key, name in (("last_s", "last"), ("p50_s", "p50"), ("p95_s", "p95"))]
    if any(value is not None for _, value in stats):
        lines += [
            "# HELP dataplat_cdc_commit_lag_seconds Source commit to lake commit, recent batches.",
            "# TYPE dataplat_cdc_commit_lag_seconds gauge",
        ]
        lines += [
            f'dataplat_cdc_commit_lag_seconds{{{labels},stat="{name}"}} {float(value)}'
            for name, value in stats
            if value is not None
        ]
    return "\n".join(lines) + "\n"
