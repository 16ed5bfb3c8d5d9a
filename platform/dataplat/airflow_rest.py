"""A client of Airflow's REST API (``/api/v2``) logged in as the platform's admin, and its errors."""

from __future__ import annotations

from typing import Any

import httpx

from dataplat.errors import DataplatError
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


class AirflowApiError(DataplatError):
    """Airflow answered an error: the status, Airflow's own message and what to do next."""

    def __init__(self, status: int, message: str, hint: str = "") -> None:
        self.status, self.message, self.hint = status, message, hint
        super().__init__(f"Airflow answered {status}: {message}" + (f"; {hint}" if hint else ""))


def api_message(response: httpx.Response) -> str:
    """Airflow's message: FastAPI's ``detail`` (text, an object or validation errors) or the body."""
    try:
        detail: Any = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        return response.text.strip() or response.reason_phrase
    if isinstance(detail, list):  # validation errors: [{"loc": [...], "msg": "..."}]
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("reason") or detail)
    return str(detail)


def default_hint(status: int) -> str:
    return "the API server's log says why: `dataplat logs airflow-api`" if status >= 500 else ""


def checked(response: httpx.Response, hint: str = "") -> httpx.Response:
    """``response`` when it is a success, else :class:`AirflowApiError` with Airflow's message."""
    if response.is_success:
        return response
    raise AirflowApiError(
        response.status_code, api_message(response), hint or default_hint(response.status_code)
    )
