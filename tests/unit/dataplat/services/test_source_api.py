"""The ``source-api`` spec: uvicorn on loopback, no dependencies, a /healthz probe."""

from __future__ import annotations

from dataplat.services import source_api
from dataplat.spec import Context, Kind

from .conftest import PYTHON, MakeContext


def test_spec(ctx: Context) -> None:
    [spec] = source_api.specs(ctx)
    assert spec.name == "source-api" and spec.kind is Kind.DAEMON and spec.probe is not None
    assert spec.argv == (
        str(PYTHON), "-m", "uvicorn", "source_api.main:app",
        "--host", "127.0.0.1", "--port", "8001",
        "--workers", "1", "--timeout-graceful-shutdown", "10",
    )  # fmt: skip
    assert spec.ports == {"http": 8001} and not spec.depends_on
    assert spec.url == "http://127.0.0.1:8001/docs"


def test_port_from_settings(make_context: MakeContext) -> None:
    [spec] = source_api.specs(make_context(ports={"source_api": 18001}))
    assert spec.argv[spec.argv.index("--port") + 1] == "18001" and spec.ports == {"http": 18001}
