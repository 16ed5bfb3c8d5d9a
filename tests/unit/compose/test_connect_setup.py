"""compose/connect/apply_connectors.py (compose's ``connect-setup``) against an in-memory Kafka Connect."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dataplat.setup import connect as native_setup
from tests.unit.compose.conftest import COMPOSE_DIR

SCRIPT = COMPOSE_DIR / "connect" / "apply_connectors.py"
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer.\n"
    "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    'Caused by: java.io.IOException: FATAL: replication slot "dataplat_condo" is active for PID 42\n'
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("apply_connectors", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


setup = _load()


class FakeConnect:
    """Connectors by name; each status poll walks the next state of its script (the last one sticks)."""

    def __init__(self, *states: str) -> None:
        self.configs: dict[str, dict[str, str]] = {}
        self.script = list(states) or ["RUNNING"]
        self.polls = 0
        self.calls: list[tuple[str, str]] = []
        self.conflicts = 0
        self.invalid: dict[str, str] = {}

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.calls.append((method, path))
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] == "connector-plugins":
            errors = [{"value": {"name": key, "errors": [error]}} for key, error in self.invalid.items()]
            return 200, {"error_count": len(errors), "configs": [*errors, {"value": None}]}
        name, what = parts[1], parts[2]
        if what == "config" and method == "GET":
            known = self.configs.get(name)
            return (200, known) if known else (404, {"error_code": 404})
        if what == "config":
            if self.conflicts:
                self.conflicts -= 1
                return 409, {"error_code": 409, "message": "rebalance in progress"}
            if self.invalid:
                return 500, {"error_code": 500, "message": "Cannot invoke ConfigValueInfo.errors()"}
            created = name not in self.configs
            self.configs[name] = {**body, "name": name}
            return (201 if created else 200), {"name": name}
        if what == "status":
            state = self.script[min(self.polls, len(self.script) - 1)]
            self.polls += 1
            if state == "MISSING":
                return 404, {"error_code": 404}
            task = {"id": 0, "state": state, "worker_id": "connect:8083", "trace": TRACE}
            connector = {"state": "RUNNING" if state == "FAILED" else state}
            return 200, {"name": name, "connector": connector, "tasks": [task]}
        assert what == "restart" and method == "POST"
        return 202, {}


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    """A pipelines folder holding a copy of the repository's condo connector."""
    folder = tmp_path / "pipelines" / "condo" / "connectors"
    folder.mkdir(parents=True)
    repo_file = native_setup.PIPELINES / "condo" / "connectors" / "condo-postgres.json"
    (folder / "condo-postgres.json").write_text(repo_file.read_text())
    return tmp_path / "pipelines"


def run(fake: FakeConnect, pipelines: Path, timeout_s: float = 120.0) -> int:
    pattern = str(pipelines / native_setup.CONNECTOR_FILES)
    return int(setup.run(fake, pattern, timeout_s, native_setup.MAX_RESTARTS, clock=FakeClock()))


def writes(fake: FakeConnect) -> list[tuple[str, str]]:
    return [call for call in fake.calls if call[0] in ("PUT", "POST")]


def test_reads_the_files_the_native_step_reads() -> None:
    """The repository's connector files load alike here and in dataplat.setup.connect."""
    pattern = str(native_setup.PIPELINES / native_setup.CONNECTOR_FILES)
    found = {name: config for _, name, config in setup.connector_files(pattern)}
    native = {c.name: c.config for c in native_setup.connector_files()}
    assert found == native and found


def test_first_run_creates_and_waits_a_rerun_sends_nothing(pipelines: Path) -> None:
    fake = FakeConnect("MISSING", "UNASSIGNED", "RUNNING")
    assert run(fake, pipelines) == 0
    assert writes(fake) == [("PUT", "/connectors/condo-postgres/config")]
    assert fake.configs["condo-postgres"]["plugin.name"] == "pgoutput"
    fake.calls.clear()
    assert run(fake, pipelines) == 0
    assert writes(fake) == []  # unchanged: a PUT would restart the connector


def test_a_changed_file_is_put_again(pipelines: Path) -> None:
    fake = FakeConnect()
    run(fake, pipelines)
    path = pipelines / "condo" / "connectors" / "condo-postgres.json"
    body = json.loads(path.read_text())
    body["config"]["max.batch.size"] = "4096"
    path.write_text(json.dumps(body))
    fake.calls.clear()
    run(fake, pipelines)
    assert writes(fake) == [("PUT", "/connectors/condo-postgres/config")]


def test_a_rebalance_conflict_is_retried(pipelines: Path) -> None:
    fake = FakeConnect()
    fake.conflicts = 2
    assert run(fake, pipelines) == 0
    assert writes(fake).count(("PUT", "/connectors/condo-postgres/config")) == 3


def test_a_failed_task_is_restarted_then_runs(pipelines: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeConnect("FAILED", "RUNNING")
    assert run(fake, pipelines) == 0
    assert ("POST", "/connectors/condo-postgres/restart?includeTasks=true&onlyFailed=true") in fake.calls
    assert "restart 1 of 2" in capsys.readouterr().out


def test_a_task_that_keeps_failing_is_reported_with_its_trace(pipelines: Path) -> None:
    fake = FakeConnect("FAILED")
    with pytest.raises(
        setup.SetupError, match=r"task 0 on connect:8083 still FAILED after 2 restarts"
    ) as error:
        run(fake, pipelines)
    assert "ConnectException" in str(error.value) and "is active for PID 42" in str(error.value)


def test_a_connector_that_never_runs_times_out(pipelines: Path) -> None:
    with pytest.raises(setup.SetupError, match=r"not RUNNING in time: UNASSIGNED \(task 0 UNASSIGNED\)"):
        run(FakeConnect("UNASSIGNED"), pipelines, timeout_s=5)


def test_a_paused_connector_is_left_alone(pipelines: Path) -> None:
    fake = FakeConnect("PAUSED")
    assert run(fake, pipelines) == 0
    assert not any(method == "POST" for method, _ in fake.calls)


def test_a_refused_config_is_explained_by_the_validation_endpoint(pipelines: Path) -> None:
    fake = FakeConnect()
    fake.invalid = {"slot.name": "must be lowercase"}
    with pytest.raises(setup.SetupError, match=r"slot\.name: must be lowercase"):
        run(fake, pipelines)


def test_malformed_and_duplicate_files_are_errors(pipelines: Path) -> None:
    twin = pipelines / "other" / "connectors"
    twin.mkdir(parents=True)
    (twin / "again.json").write_text((pipelines / "condo/connectors/condo-postgres.json").read_text())
    with pytest.raises(setup.SetupError, match="is in both"):
        run(FakeConnect(), pipelines)
    (twin / "again.json").write_text("{}")
    with pytest.raises(setup.SetupError, match="not a connector file"):
        run(FakeConnect(), pipelines)


def test_main_exits_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONNECT_URL", raising=False)
    assert setup.main() == 1
    assert "connect-setup: 'CONNECT_URL'" in capsys.readouterr().err
    monkeypatch.setenv("CONNECT_URL", "http://connect.invalid:8083")
    monkeypatch.setenv("CONNECTOR_FILES", str(tmp_path / "*.json"))
    monkeypatch.setenv("CONNECT_SETUP_TIMEOUT_S", "1")
    monkeypatch.setenv("CONNECT_SETUP_MAX_RESTARTS", "0")
    assert setup.main() == 0  # no connector files: nothing to do, nothing called
    assert "no connector files" in capsys.readouterr().out


def test_http_returns_statuses_and_json_bodies() -> None:
    """The real client: JSON both ways, an error status returned with its body (an ephemeral port)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = 201 if self.path == "/connectors/a/config" else 409
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"got": body, "type": self.headers["Content-Type"]}).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        call = setup.http(f"http://127.0.0.1:{server.server_address[1]}/")
        assert call("PUT", "/connectors/a/config", {"k": "v"}) == (
            201,
            {"got": {"k": "v"}, "type": "application/json"},
        )
        assert call("PUT", "/connectors/b/config", {})[0] == 409
    finally:
        server.shutdown()
        server.server_close()
