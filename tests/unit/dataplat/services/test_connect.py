"""The Kafka Connect specs: exact JVM command line, loopback REST, secrets in env only, the probe."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from dataplat.render import render_text
from dataplat.secrets import get_secret
from dataplat.services import connect, postgres, trino
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA17, PYTHON, MakeContext, by_name

PERFORMANCE = (
    "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
)  # fmt: skip


def test_jvm_command_line(ctx: Context) -> None:
    worker = by_name(connect.specs(ctx))["connect"]
    conf = ctx.paths.conf / "connect"
    assert worker.argv == (
        f"{JAVA17}/bin/java", "-Xmx384m", "-Xms128m", *PERFORMANCE,
        f"-Dlog4j2.configurationFile={conf}/log4j2.properties",
        "-cp", f"{ctx.paths.dist}/connect/lib/*",
        "org.apache.kafka.connect.cli.ConnectDistributed", f"{conf}/worker.properties",
    )  # fmt: skip


def test_heap_comes_from_settings(make_context: MakeContext) -> None:
    worker = by_name(connect.specs(make_context(heaps={"connect": 96})))["connect"]
    assert worker.argv[1:3] == ("-Xmx96m", "-Xms96m")


def test_env_carries_the_replication_role_and_its_secret(ctx: Context) -> None:
    worker = by_name(connect.specs(ctx))["connect"]
    assert worker.env == {
        "CDC_PG_HOST": "127.0.0.1",
        "CDC_PG_PORT": "5432",
        "CDC_PG_USER": "cdc_replicator",
        "CDC_PG_PASSWORD": get_secret(ctx.paths.secrets_file, postgres.REPLICATOR_SECRET),
        "CDC_PG_DATABASE": "condo",
    }
    assert len(worker.env["CDC_PG_PASSWORD"]) >= 16
    assert not any(worker.env["CDC_PG_PASSWORD"] in arg for arg in worker.argv)


def test_order_kinds_ports_and_dependencies(ctx: Context) -> None:
    specs = by_name(connect.specs(ctx))
    assert list(specs) == ["connect", "connect-setup"]
    worker, setup = specs["connect"], specs["connect-setup"]
    assert worker.kind is Kind.DAEMON and worker.probe is not None
    assert worker.ports == {"http": 8083} and worker.url == "http://127.0.0.1:8083"
    assert worker.cwd == ctx.paths.data / "connect"
    assert worker.depends_on == {"kafka": Condition.HEALTHY, "postgres-setup": Condition.COMPLETED}
    assert setup.kind is Kind.ONESHOT and setup.creates is None  # every `up`
    assert setup.argv == (str(PYTHON), "-m", "dataplat.setup.connect")
    assert setup.depends_on == {"connect": Condition.HEALTHY, "postgres-setup": Condition.COMPLETED}
    assert str(ctx.log_file("connect-setup")) in setup.hint and str(ctx.log_file("connect")) in setup.hint


def test_external_endpoints(make_context: MakeContext) -> None:
    external_kafka = make_context(external={"kafka_bootstrap": "broker.example:9092"})
    worker = by_name(connect.specs(external_kafka))["connect"]
    assert worker.depends_on == {"postgres-setup": Condition.COMPLETED}
    external_connect = make_context(external={"connect_url": "http://connect.example:8083"})
    [setup] = connect.specs(external_connect)
    assert setup.name == "connect-setup" and setup.depends_on == {"postgres-setup": Condition.COMPLETED}
    external_postgres = make_context(external={"postgres_host": "db.example", "postgres_port": 6543})
    worker = by_name(connect.specs(external_postgres))["connect"]
    assert worker.depends_on == {"kafka": Condition.HEALTHY}  # nobody here creates the roles
    assert (worker.env["CDC_PG_HOST"], worker.env["CDC_PG_PORT"]) == ("db.example", "6543")


def worker_properties(ctx: Context) -> dict[str, str]:
    worker = by_name(connect.specs(ctx))["connect"]
    [config] = [config for config in worker.configs if config.target.name == "worker.properties"]
    assert config.mode == 0o600
    text = render_text(config.template, ctx)
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def test_worker_properties(ctx: Context) -> None:
    props = worker_properties(ctx)
    assert props["bootstrap.servers"] == "127.0.0.1:9092"
    assert props["listeners"] == "http://127.0.0.1:8083"
    assert props["rest.advertised.host.name"] == "127.0.0.1"
    assert props["plugin.path"] == f"{ctx.paths.dist}/connect/plugins"
    assert props["group.id"] == "dataplat-connect"
    topics = {props[f"{kind}.storage.topic"] for kind in ("config", "offset", "status")}
    assert topics == {"_connect-configs", "_connect-offsets", "_connect-status"}
    assert props["offset.flush.interval.ms"] == "1000"
    assert props["config.providers"] == "env"
    assert props["config.providers.env.class"].endswith(".EnvVarConfigProvider")
    assert props["key.converter"] == props["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    # connectors' producers batch and compress; no client security property without [kafka_client]
    tuning = {"producer.linger.ms": "20", "producer.batch.size": "524288", "producer.compression.type": "lz4"}
    assert {key: props[key] for key in tuning} == tuning
    clients = [key for key in props if key.startswith(("producer.", "consumer.", "admin.", "security."))]
    assert sorted(clients) == sorted(tuning)


def test_kafka_client_properties_reach_every_client(make_context: MakeContext) -> None:
    ctx = make_context(kafka_client={"properties": {"security.protocol": "SSL"}})
    props = worker_properties(ctx)
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert props[f"{prefix}security.protocol"] == "SSL"


def test_trino_reads_the_cdc_source_as_its_owner(ctx: Context) -> None:
    """``catalog/trino/postgresql.properties``: the password is Trino's env, never in the file."""
    [spec] = trino.specs(ctx)
    owner_password = postgres.password(ctx.paths, postgres.cdc_database(ctx.settings))
    assert spec.env["POSTGRES_CONDO_PASSWORD"] == owner_password
    text = render_text("catalog/trino/postgresql.properties", ctx)
    assert "connection-url=jdbc:postgresql://127.0.0.1:5432/condo\n" in text
    assert "connection-user=condo\n" in text
    assert "connection-password=${ENV:POSTGRES_CONDO_PASSWORD}\n" in text and owner_password not in text


class FakeWorker(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, Any]]] = {}

    def do_GET(self) -> None:
        status, body = self.answers[self.path]
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_worker() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWorker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWorker.answers = {
        "/": (200, {"version": "4.1.1", "commit": "be816b82d25370ce", "kafka_cluster_id": "x"}),
        "/health": (200, {"status": "healthy", "message": "Worker has completed startup"}),
        "/connector-plugins": (200, [{"class": connect.POSTGRES_CONNECTOR, "type": "source"}]),
    }
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_probe_waits_for_startup_the_version_and_the_plugin(fake_worker: str) -> None:
    probe = connect.worker_probe(fake_worker)
    assert probe().ok
    FakeWorker.answers["/health"] = (503, {"status": "starting", "message": "Worker is still starting up."})
    assert probe().reason == f"{fake_worker}/health: HTTP 503 Worker is still starting up."
    FakeWorker.answers["/health"] = (200, {"status": "healthy"})
    FakeWorker.answers["/connector-plugins"] = (200, [])
    assert "no io.debezium.connector.postgresql.PostgresConnector in plugin.path" in probe().reason
    FakeWorker.answers["/"] = (200, {"version": "3.9.0"})
    assert probe().reason.endswith("is Kafka Connect 3.9.0, expected 4.1.1")
