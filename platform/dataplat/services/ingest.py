"""The ingest API (FastAPI on uvicorn): JSON events in, schema-validated Avro records in Kafka out."""

from __future__ import annotations

from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.spec import Condition, Context, Kind, ServiceSpec

API_KEY_SECRET = "INGEST_API_KEY"  # noqa: S105 - the name of a generated secret
METRICS_DIR_ENV = "INGEST_METRICS_DIR"  # ingest_api.metrics: counters summed over the workers


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
    env = {
        "INGEST_DLQ_ENABLED": "true",
        # required beyond loopback (the service refuses to start without it); harmless on loopback
        "INGEST_API_KEY": get_secret(ctx.paths.secrets_file, API_KEY_SECRET),
    }
    if s.ingest_workers > 1:  # /metrics then sums every worker's counters (see ingest_api.metrics)
        env[METRICS_DIR_ENV] = str(ctx.paths.run / "ingest-api-metrics")
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
            env=env,
            ports={"http": port},
            depends_on={
                "kafka": Condition.HEALTHY,
                "kafka-topics": Condition.COMPLETED,
                "registry": Condition.HEALTHY,
                "schemas": Condition.COMPLETED,
            },
            stop_timeout_s=30,  # graceful shutdown flushes in-flight records (<= 15 s)
            hint=f"see {ctx.log_file('ingest-api')}; /readyz says whether Kafka or the registry is missing",
            url=f"{s.ingest_url}/docs",
        ),
    ]
