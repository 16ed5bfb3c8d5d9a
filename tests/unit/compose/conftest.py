"""Fixtures of the compose checks: the parsed compose file and platform settings from defaults only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dataplat.settings import REPO_ROOT, Settings

COMPOSE_DIR = REPO_ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ONESHOT_LABEL = "dev.dataplat.kind"


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def is_oneshot(service: dict[str, Any]) -> bool:
    return service.get("labels", {}).get(ONESHOT_LABEL) == "oneshot"


@pytest.fixture
def default_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings from the code's defaults only (no dataplat.toml, no DATAPLAT_* variables)."""
    import os

    for key in list(os.environ):
        if key.startswith("DATAPLAT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATAPLAT_CONFIG", str(tmp_path / "absent.toml"))
    return Settings()
