"""A client of Airflow's REST API (``/api/v2``) logged in as the platform's admin."""

from __future__ import annotations

import httpx

from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings


def api_token(settings: Settings) -> str:
    """A JWT for the admin user (SimpleAuthManager; the password is in the secrets file)."""
    from dataplat.services.airflow import ADMIN_USER

    password = get_secret(paths_for(settings).secrets_file, "AIRFLOW_ADMIN_PASSWORD")
    answer = httpx.post(
        f"{settings.airflow_url}/auth/token", json={"username": ADMIN_USER, "password": password}, timeout=30
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def airflow_client(settings: Settings, timeout_s: float = 30) -> httpx.Client:
    """``httpx.Client`` on ``<airflow>/api/v2`` with the admin's bearer token."""
    return httpx.Client(
        base_url=f"{settings.airflow_url}/api/v2",
        headers={"Authorization": f"Bearer {api_token(settings)}"},
        timeout=timeout_s,
    )
