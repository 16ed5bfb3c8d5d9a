"""PostgreSQL SIGKILLed: supervisord restarts it, crash recovery runs, and everything that keeps its
metadata there (Airflow's four processes, the metastore, Superset) carries on with no manual step.

Nothing is restarted by the test: Airflow's pools ping before use, so a dead connection costs a
reconnect; a component that crashes on the outage is restarted by supervisord like any other.
"""

from __future__ import annotations

import time

import httpx
import pytest

from dataplat.airflow_rest import airflow_client
from dataplat.runtime import Stack
from dataplat.services.airflow import COMPONENTS, HEALTH_PATH
from dataplat.services.metastore import get_all_databases
from dataplat.settings import Settings
from tests.integration import self_healing as heal

pytestmark = [pytest.mark.integration, pytest.mark.slow]

POSTGRES_BUDGET_S = 60.0  # SIGKILL -> restarted, recovered, SELECT 1 answers
DEPENDENTS_BUDGET_S = 180.0  # then Airflow, the metastore and Superset healthy by themselves


def airflow_health(settings: Settings) -> dict[str, str]:
    body = httpx.get(f"{settings.airflow_url}{HEALTH_PATH}", timeout=10).raise_for_status().json()
    return {name: body[name]["status"] for name in ("metadatabase", *COMPONENTS)}


def test_airflow_metastore_and_superset_carry_on_after_postgres_is_killed(
    stack: Stack, settings: Settings
) -> None:
    if "postgres" not in stack.specs:
        pytest.skip("PostgreSQL is external here")
    bad, _ = heal.wait_healthy(stack, 180)
    assert not bad, f"not healthy before the kill: {bad}"
    killed = heal.kill(stack, "postgres")
    _, ready_s, new_pid = heal.wait_recovered(stack, "postgres", killed, POSTGRES_BUDGET_S)
    assert new_pid != killed.pid
    print(f"postgres ready again {ready_s:.1f} s after SIGKILL")
    orphans = heal.describe(heal.survivors(killed.children, grace_s=15))
    assert not orphans, f"backends of the killed postmaster outlived it: {orphans}"

    deadline = time.monotonic() + DEPENDENTS_BUDGET_S
    health: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            health = airflow_health(settings)
        except httpx.HTTPError as error:
            health = {"api": f"{type(error).__name__}"}
        if set(health.values()) == {"healthy"}:
            break
        time.sleep(2)
    assert set(health.values()) == {"healthy"}, f"Airflow after PostgreSQL's restart: {health}"

    with airflow_client(settings) as client:  # reads and a write go through the database
        assert client.get("/dags/insights").status_code == 200
        name = f"it_pg_recovery_{int(time.time())}"
        created = client.post("/variables", json={"key": name, "value": "after the kill"})
        assert created.status_code in (200, 201), created.text
        assert client.get(f"/variables/{name}").json()["value"] == "after the kill"
        assert client.delete(f"/variables/{name}").status_code in (200, 204)

    # the metastore's first call after the outage waits on its pool's dead connections: poll it
    host, port = settings.metastore_uri.removeprefix("thrift://").rsplit(":", 1)
    answer: list[str] | str = "no answer yet"
    while time.monotonic() < deadline:
        try:
            answer = get_all_databases(host, int(port), timeout_s=30)
        except Exception as error:  # noqa: BLE001 - a timeout or a transport error: try again
            answer = f"{type(error).__name__}: {error}"
        if isinstance(answer, list) and "default" in answer:
            break
        time.sleep(2)
    assert isinstance(answer, list) and "default" in answer, f"metastore after the restart: {answer}"
    print(f"metastore answering {DEPENDENTS_BUDGET_S - (deadline - time.monotonic()):.1f} s after the kill")
    bad, waited = heal.wait_healthy(stack, DEPENDENTS_BUDGET_S)
    assert not bad, f"not healthy again by themselves {waited:.0f} s after: {bad}"
