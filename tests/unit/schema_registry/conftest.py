"""Fixtures: an app on a temporary SQLite file, and the same app served by uvicorn on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from schema_registry.app import CCOMPAT_PREFIX, create_app


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "registry" / "registry.db"


@pytest.fixture
def client(db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path), base_url=f"http://testserver{CCOMPAT_PREFIX}") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server in a thread (the confluent-kafka client needs a socket)."""
    app = create_app(tmp_path_factory.mktemp("registry") / "registry.db")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # uvicorn's own flag: set once it listens
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}{CCOMPAT_PREFIX}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
