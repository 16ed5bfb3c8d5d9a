"""Kafka Connect 4.1.1 (one distributed worker) with Debezium's PostgreSQL connector; ``connect-setup``.

``connect`` runs ``org.apache.kafka.connect.cli.ConnectDistributed`` on the rendered
``conf/connect/worker.properties``: jars from ``dist/connect/lib``, connector plugins from
``dist/connect/plugins`` (installed by ``platform/jvm/connect``), its state in Kafka's internal
``_connect-*`` topics, its REST API on ``bind_host``. Ready when ``/`` answers as 4.1.1, ``/health``
says the worker finished starting, and the Debezium PostgreSQL plugin is loaded.

Connector configs are the repository's ``pipelines/*/connectors/*.json``; they name the operational
database's endpoint and the replication role's credentials as ``${env:CDC_PG_*}``, which the worker
resolves from its environment (set here), so no secret is stored in Kafka. The oneshot
``connect-setup`` (:mod:`dataplat.setup.connect`, every ``up``) applies them and waits until they run.
With ``external.connect_url`` no worker runs here and ``connect-setup`` applies the connectors there
(its workers then need the ``CDC_PG_*`` variables themselves).
"""

from __future__ import annotations

from typing import Any

import httpx

from dataplat.jvm import java_command
from dataplat.probes import callable_probe
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.services.kafka import JVM_OPTS
from dataplat.settings import Settings
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec

VERSION = "4.1.1"
MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
POSTGRES_CONNECTOR = "io.debezium.connector.postgresql.PostgresConnector"
SETUP = "connect-setup"
# the JVM's default -Xms (1/64 of RAM) would commit most of the heap up front; an idle worker needs less
INITIAL_HEAP_MB = 128


def connector_env(s: Settings, replicator_password: str) -> dict[str, str]:
    """The ``${env:CDC_PG_*}`` values connector configs refer to (pure)."""
    return {
        "CDC_PG_HOST": s.postgres_host,
        "CDC_PG_PORT": str(s.postgres_port),
        "CDC_PG_USER": s.cdc.replication_role,
        "CDC_PG_PASSWORD": replicator_password,
        "CDC_PG_DATABASE": s.cdc.database,
    }


def configs(ctx: Context) -> tuple[ConfigFile, ...]:
    conf = ctx.paths.conf / "connect"
    return (
        # 0600: [kafka_client] properties may carry SASL credentials
        ConfigFile("connect/worker.properties", conf / "worker.properties", mode=0o600),
        ConfigFile("connect/log4j2.properties", conf / "log4j2.properties"),
    )


def worker_probe(url: str) -> Probe:
    """Ready when the worker is Connect 4.1.1, has finished starting and has loaded Debezium's plugin."""

    def check() -> str | None:
        with httpx.Client(base_url=url, timeout=3.0) as client:
            version = client.get("/").json().get("version")
            if version != VERSION:
                return f"{url} is Kafka Connect {version}, expected {VERSION}"
            health = client.get("/health")
            if health.status_code != httpx.codes.OK:
                return f"{url}/health: HTTP {health.status_code} {_message(health)}"
            plugins = client.get("/connector-plugins").json()
        if POSTGRES_CONNECTOR not in {plugin.get("class") for plugin in plugins}:
            return f"{url}: no {POSTGRES_CONNECTOR} in plugin.path (run `dataplat install`)"
        return None

    return callable_probe(f"kafka connect at {url}", check)


def _message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", body))[:200] if isinstance(body, dict) else str(body)[:200]


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    setup_depends = postgres.depends(s)
    if not s.external.connect_url:
        setup_depends["connect"] = Condition.HEALTHY
    setup = ServiceSpec(
        name=SETUP,
        argv=(str(ctx.python_bin), "-m", "dataplat.setup.connect"),
        kind=Kind.ONESHOT,  # every `up`: applies the connector files, waits until they run
        env={"PYTHONUNBUFFERED": "1"},
        depends_on=setup_depends,
        hint=f"see {ctx.log_file(SETUP)} and {ctx.log_file('connect')}; files: pipelines/*/connectors/*.json",
    )
    if s.external.connect_url:
        return [setup]
    conf = paths.conf / "connect"
    argv = java_command(
        ctx,
        main=MAIN,
        heap_mb=s.heaps.connect,
        initial_heap_mb=min(s.heaps.connect, INITIAL_HEAP_MB),
        jvm_flags=JVM_OPTS,
        system_properties={"log4j2.configurationFile": conf / "log4j2.properties"},
        classpath=(paths.dist / "connect" / "lib" / "*",),
        args=(str(conf / "worker.properties"),),
    )
    password = get_secret(paths.secrets_file, postgres.REPLICATOR_SECRET)
    depends = postgres.depends(s)  # the connectors it resumes on start read the operational database
    if s.external.kafka_bootstrap is None:
        depends["kafka"] = Condition.HEALTHY
    worker = ServiceSpec(
        name="connect",
        argv=argv,
        probe=worker_probe(f"http://{s.bind_host}:{s.ports.connect}"),
        env=connector_env(s, password),
        cwd=paths.data / "connect",
        ports={"http": s.ports.connect},
        depends_on=depends,
        configs=configs(ctx),
        stop_timeout_s=30,
        hint=f"see {ctx.log_file('connect')}; port {s.ports.connect} must be free",
        url=s.connect_url,
    )
    return [worker, setup]
