from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dataplat.secrets import get_secret
from dataplat.settings import Settings


def test_defaults_bind_to_loopback_and_derive_endpoints() -> None:
    s = Settings(_env_file=None)
    assert s.bind_host == "127.0.0.1"
    assert s.hdfs_uri == "hdfs://127.0.0.1:8020"
    assert s.registry_url.endswith("/apis/ccompat/v7")
    assert s.kafka_client_config()["bootstrap.servers"] == "127.0.0.1:9092"


def test_environment_points_at_external_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAPLAT_EXTERNAL__KAFKA_BOOTSTRAP", "b1:9092,b2:9092")
    monkeypatch.setenv("DATAPLAT_EXTERNAL__SPARK_MASTER", "spark://master:7077")
    monkeypatch.setenv("DATAPLAT_PORTS__TRINO", "18080")
    monkeypatch.setenv("DATAPLAT_KAFKA_CLIENT__PROPERTIES", '{"security.protocol": "SASL_SSL"}')
    s = Settings()
    assert s.kafka_bootstrap == "b1:9092,b2:9092"
    assert s.external.spark_master == "spark://master:7077"
    assert s.trino_url == "http://127.0.0.1:18080"
    assert s.kafka_client_config()["security.protocol"] == "SASL_SSL"


def test_toml_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "dataplat.toml"
    config.write_text('bind_host = "10.0.0.5"\n[ports]\nkafka = 19092\n')
    monkeypatch.setenv("DATAPLAT_CONFIG", str(config))
    s = Settings()
    assert (s.bind_host, s.ports.kafka) == ("10.0.0.5", 19092)


def test_secret_is_generated_once_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    first = get_secret(path, "ADMIN")
    assert get_secret(path, "ADMIN") == first
    assert len(first) >= 24
    assert get_secret(path, "OTHER") != first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
