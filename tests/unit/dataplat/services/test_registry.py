"""The ``registry`` spec: argv on loopback, its probe against the real server, external registry."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from dataplat.services import registry
from dataplat.spec import Context, Kind
from schema_registry.app import create_app

from .conftest import PYTHON, MakeContext


def test_spec(ctx: Context) -> None:
    [spec] = registry.specs(ctx)
    assert spec.name == "registry" and spec.kind is Kind.DAEMON and not spec.depends_on
    data = ctx.paths.data / "registry"
    assert spec.argv == (
        str(PYTHON), "-m", "schema_registry",
        "--host", "127.0.0.1", "--port", "8081", "--db", str(data / "registry.db"),
    )  # fmt: skip
    assert spec.cwd == data and spec.ports == {"http": 8081}
    assert spec.env == {"PYTHONUNBUFFERED": "1"}
    assert spec.url == "http://127.0.0.1:8081/apis/ccompat/v7"


def test_external_registry_runs_nothing(make_context: MakeContext) -> None:
    assert registry.specs(make_context(external={"registry_url": "http://sr.example:8081"})) == []


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    """The real registry app, served by uvicorn in a thread on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(tmp_path / "registry.db"), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # uvicorn's own flag: set once it listens
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_probe_waits_then_sees_the_server(make_context: MakeContext, port: int) -> None:
    [spec] = registry.specs(make_context(ports={"registry": port}))
    assert spec.probe is not None
    assert spec.probe().ok, spec.probe()
    [down] = registry.specs(make_context(ports={"registry": 1}))
    assert down.probe is not None and not down.probe().ok
