"""The runtime's description of the ingest API process: argv, its INGEST_* environment, dependencies."""

from __future__ import annotations

import json

import pytest

from dataplat.services import ingest
from dataplat.settings import External, KafkaClient
from dataplat.spec import Condition, Context, Readiness, ServiceSpec
from ingest_api.config import IngestSettings

from .conftest import MakeContext, by_name


def _api(ctx: Context) -> ServiceSpec:
    return by_name(ingest.specs(ctx))["ingest-api"]


def _option(argv: tuple[str, ...], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_ingest_api_spec(ctx: Context) -> None:
    settings, python = ctx.settings, str(ctx.python_bin)
    specs = by_name(ingest.specs(ctx))
    assert set(specs) == {"schemas", "ingest-api"}  # schemas are registered before the API starts
    spec = specs["ingest-api"]
    assert spec.argv[:4] == (python, "-m", "uvicorn", "ingest_api.main:app")
    assert _option(spec.argv, "--port") == str(settings.ports.ingest_api)
    assert _option(spec.argv, "--host") == settings.bind_host
    assert spec.env["INGEST_DLQ_ENABLED"] == "true"
    key = spec.env["INGEST_API_KEY"]
    assert len(key) >= 24 and key in ctx.paths.secrets_file.read_text()
    assert _api(ctx).env["INGEST_API_KEY"] == key  # generated once
    assert spec.depends_on == {
        "kafka": Condition.HEALTHY,
        "kafka-topics": Condition.COMPLETED,
        "registry": Condition.HEALTHY,
        "schemas": Condition.COMPLETED,
    }
    assert isinstance(spec.probe(), Readiness)  # nothing listens here: waiting, not an exception
    assert spec.url.endswith("/docs")


def test_the_app_binds_the_configured_host_and_knows_it(make_context: MakeContext) -> None:
    ctx = make_context(bind_host="0.0.0.0")
    spec = _api(ctx)
    assert _option(spec.argv, "--host") == "0.0.0.0"
    assert spec.env["INGEST_BIND_HOST"] == "0.0.0.0"  # so the app requires its API key
    assert spec.probe is not None


def test_env_carries_the_endpoints_of_the_native_stack(make_context: MakeContext) -> None:
    ctx = make_context()
    env = ingest.app_env(ctx)
    assert env["INGEST_KAFKA_BOOTSTRAP"] == ctx.settings.kafka_bootstrap == "127.0.0.1:9092"
    assert env["INGEST_REGISTRY_URL"] == ctx.settings.registry_url
    assert env["INGEST_BIND_HOST"] == "127.0.0.1"
    assert json.loads(env["INGEST_KAFKA_PROPERTIES"]) == {}
    assert env["INGEST_METRICS_DIR"] == str(ctx.paths.run / "ingest-api-metrics")  # 2 workers
    assert _api(ctx).env == env


def test_env_carries_external_endpoints_and_client_properties(make_context: MakeContext) -> None:
    external = External(kafka_bootstrap="b1:9093,b2:9093", registry_url="https://registry.example/api")
    properties = {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}
    ctx = make_context(external=external, kafka_client=KafkaClient(properties=properties), ingest_workers=1)
    env = ingest.app_env(ctx)
    assert env["INGEST_KAFKA_BOOTSTRAP"] == "b1:9093,b2:9093"
    assert env["INGEST_REGISTRY_URL"] == "https://registry.example/api"
    assert json.loads(env["INGEST_KAFKA_PROPERTIES"]) == properties
    assert "INGEST_METRICS_DIR" not in env  # one worker: its own counters
    # external services are not waited for; the topics are still created on the external Kafka
    assert _api(ctx).depends_on == {"kafka-topics": Condition.COMPLETED, "schemas": Condition.COMPLETED}


def test_the_app_accepts_the_rendered_env(make_context: MakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    properties = {"security.protocol": "SSL"}
    ctx = make_context(bind_host="0.0.0.0", kafka_client=KafkaClient(properties=properties))
    for name, value in ingest.app_env(ctx).items():
        monkeypatch.setenv(name, value)
    settings = IngestSettings()  # type: ignore[call-arg]  # from the environment
    assert settings.auth_required and settings.api_key and settings.dlq_enabled
    assert settings.producer_config()["bootstrap.servers"] == ctx.settings.kafka_bootstrap
    assert settings.producer_config()["security.protocol"] == "SSL"
    assert settings.registry_url == ctx.settings.registry_url
