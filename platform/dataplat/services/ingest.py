"""The ingest API (FastAPI on uvicorn): JSON events in, schema-validated Avro records in Kafka out."""

from __future__ import annotations

import json

from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.spec import Condition, Context, Kind, ServiceSpec

API_KEY_SECRET = "INGEST_API_KEY"  # noqa: S105 - the name of a generated secret
METRICS_DIR_ENV = "INGEST_METRICS_DIR"  # ingest_api.metrics: counters summed over the workers


def app_env(ctx: Context) -> dict[str, str]:
    """The ingest API's whole configuration as its ``INGEST_*`` variables (ingest_api.config).

    The native stack passes it to the process; ``compose-render`` writes it to the app's env file.
    Holds the generated API key (a secret).
    """
    s = ctx.settings
    env = {
        "INGEST_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "INGEST_KAFKA_PROPERTIES": json.dumps(s.kafka_client.properties, sort_keys=True),
        "INGEST_REGISTRY_URL": s.registry_url,
        "INGEST_BIND_HOST": s.bind_host,  # the --host uvicorn binds: beyond loopback a key is required
        "INGEST_DLQ_ENABLED": "true",
        # required beyond loopback (the service refuses to start without it); harmless on loopback
        "INGEST_API_KEY": get_secret(ctx.paths.secrets_file, API_KEY_SECRET),
    }
    if s.ingest_workers > 1:  # /metrics then sums every worker's counters (see ingest_api.metrics)
        env[METRICS_DIR_ENV] = str(ctx.paths.run / "ingest-api-metrics")
    return env


def _native(ctx: Context) -> dict[str, Condition]:
    """Kafka and the registry: waited for only when the platform runs them (not external ones)."""
    external = ctx.settings.external
    depends = {"kafka-topics": Condition.COMPLETED}  # creates the topics on whichever Kafka is set
    if external.kafka_bootstrap is None:
        depends["kafka"] = Condition.HEALTHY
    if external.registry_url is None:
        depends["registry"] = Condition.HEALTHY
    return depends


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    port = s.ports.ingest_api
    argv = (
        str(ctx.python_bin),
        "-m",
        "uvicorn",
        "ingest_api.main:app",
        "--host",
        s.bind_host,
        "--port",
        str(port),
        "--workers",
        str(s.ingest_workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--timeout-graceful-shutdown",
        "20",
        "--no-access-log",  # a log line per request cost 20% of single-event throughput; /metrics counts
    )
    register = ServiceSpec(
        name="schemas",
        kind=Kind.ONESHOT,  # idempotent: unchanged schemas are left alone, so it runs every `up`
        argv=(str(ctx.python_bin), "-m", "schemas.register", "--registry-url", s.registry_url),
        depends_on={} if s.external.registry_url else {"registry": Condition.HEALTHY},
        hint="an incompatible change to a schemas/*.avsc file is refused: see the verdict in the log",
    )
    return [
        register,
        ServiceSpec(
            name="ingest-api",
            argv=argv,
            probe=http_probe(f"http://{s.bind_host}:{port}/readyz"),
            env=app_env(ctx),
            ports={"http": port},
            depends_on={**_native(ctx), "schemas": Condition.COMPLETED},
            stop_timeout_s=30,  # graceful shutdown flushes in-flight records (<= 15 s)
            hint=f"see {ctx.log_file('ingest-api')}; /readyz says whether Kafka or the registry is missing",
            url=f"{s.ingest_url}/docs",
        ),
    ]
