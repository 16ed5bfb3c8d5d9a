"""The source API (FastAPI on uvicorn): deterministic daily insights for the batch pipeline.

``GET /insights?date=YYYY-MM-DD&count=N`` streams NDJSON; the ``insights`` DAG reads it through
the ``source_api`` Airflow connection. No dependencies: it generates its data.
"""

from __future__ import annotations

from dataplat.probes import http_probe
from dataplat.spec import Context, ServiceSpec


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    port = s.ports.source_api
    argv = (
        str(ctx.python_bin), "-m", "uvicorn", "source_api.main:app",
        "--host", s.bind_host, "--port", str(port),
        "--workers", "1", "--timeout-graceful-shutdown", "10",
    )  # fmt: skip
    return [
        ServiceSpec(
            name="source-api",
            argv=argv,
            probe=http_probe(f"http://{s.bind_host}:{port}/healthz", check=_is_ok),
            env={"PYTHONUNBUFFERED": "1"},
            ports={"http": port},
            hint=f"see {ctx.log_file('source-api')}; port {port} must be free",
            url=f"{s.source_api_url}/docs",
        ),
    ]


def _is_ok(body: object) -> str | None:
    return None if isinstance(body, dict) and body.get("status") == "ok" else f"/healthz answered {body!r}"
