"""The schema registry: the platform's own small Confluent-compatible one (AVRO only).

A stand-in for a real Confluent or Apicurio registry (Apicurio cannot be installed from
the registries we reach): ``python -m schema_registry`` serves the Confluent REST API at
``/apis/ccompat/v7`` (Apicurio's path) and ``/``, state in ``data/registry/registry.db``.
Set ``external.registry_url`` to use a real registry instead; then nothing runs here.
"""

from __future__ import annotations

from typing import Any

from dataplat.probes import http_probe
from dataplat.spec import Context, ServiceSpec


def _is_subject_list(body: Any) -> str | None:
    return None if isinstance(body, list) else f"/subjects answered {type(body).__name__}, not a list"


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    if s.external.registry_url:
        return []
    data = ctx.paths.data / "registry"
    argv = (
        str(ctx.python_bin), "-m", "schema_registry",
        "--host", s.bind_host,
        "--port", str(s.ports.registry),
        "--db", str(data / "registry.db"),
    )  # fmt: skip
    return [
        ServiceSpec(
            name="registry",
            argv=argv,
            probe=http_probe(f"{s.registry_url}/subjects", check=_is_subject_list),
            env={"PYTHONUNBUFFERED": "1"},
            cwd=data,
            ports={"http": s.ports.registry},
            hint=f"see {ctx.log_file('registry')}; port {s.ports.registry} must be free",
            url=s.registry_url,
        ),
    ]
