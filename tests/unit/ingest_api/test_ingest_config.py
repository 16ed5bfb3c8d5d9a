"""The ingest service's settings come from ``INGEST_*`` variables alone; errors name the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest_api.config import IngestSettings, SettingsError, load_ingest_settings

REPO_ROOT = Path(__file__).resolve().parents[3]
ENDPOINTS = {"INGEST_KAFKA_BOOTSTRAP": "broker:9092", "INGEST_REGISTRY_URL": "http://registry:8081"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("INGEST_"):
            monkeypatch.delenv(name)
    load_ingest_settings.cache_clear()
    yield
    load_ingest_settings.cache_clear()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENDPOINTS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INGEST_MAX_BATCH_RECORDS", "5")
    monkeypatch.setenv("INGEST_KAFKA_PROPERTIES", '{"security.protocol": "SASL_SSL", "linger.ms": 5}')
    s = load_ingest_settings()
    assert (s.kafka_bootstrap, s.registry_url) == ("broker:9092", "http://registry:8081")
    assert s.max_batch_records == 5 and s.kafka_properties["linger.ms"] == 5
    assert s.bind_host == "127.0.0.1" and not s.auth_required and not s.dlq_enabled
    config = s.producer_config()
    assert config["bootstrap.servers"] == "broker:9092" and config["security.protocol"] == "SASL_SSL"
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert config["message.timeout.ms"] == 10_000
    assert s.registry_config()["url"] == "http://registry:8081"


@pytest.mark.parametrize("missing", sorted(ENDPOINTS))
def test_a_missing_endpoint_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in ENDPOINTS.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{missing} is not set: .*e\\.g\\. "):
        load_ingest_settings()


def test_an_empty_endpoint_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_KAFKA_BOOTSTRAP", "")
    monkeypatch.setenv("INGEST_REGISTRY_URL", "http://registry:8081")
    with pytest.raises(SettingsError, match="INGEST_KAFKA_BOOTSTRAP is not set"):
        load_ingest_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("INGEST_MAX_BATCH_RECORDS", "many"), ("INGEST_KAFKA_PROPERTIES", "security.protocol=SSL")],
)
def test_an_invalid_value_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    for endpoint, url in ENDPOINTS.items():
        monkeypatch.setenv(endpoint, url)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_ingest_settings()


def test_settings_refuse_public_bind_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    def settings(**values: str | bool) -> IngestSettings:
        return IngestSettings.model_validate(
            {"kafka_bootstrap": "k:9092", "registry_url": "mock://x", **values}
        )

    with pytest.raises(ValidationError, match="INGEST_API_KEY"):
        settings(bind_host="0.0.0.0")
    assert not settings(bind_host="::1").auth_required
    assert settings(require_api_key=True, api_key="k").auth_required
    for name, value in ENDPOINTS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INGEST_BIND_HOST", "0.0.0.0")
    with pytest.raises(SettingsError, match="INGEST_API_KEY is required"):
        load_ingest_settings()


def test_the_service_runs_without_the_platform_package() -> None:
    """No ``dataplat`` import: the app, its settings and its routes load with the runtime blocked."""
    script = (
        "import sys; sys.modules['dataplat'] = None\n"  # any `import dataplat...` now fails
        "from ingest_api.config import load_ingest_settings\n"
        "import ingest_api.main\n"
        "print(load_ingest_settings().kafka_bootstrap)\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), **ENDPOINTS}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "broker:9092"
