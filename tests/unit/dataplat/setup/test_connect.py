"""``connect-setup`` against an in-memory Kafka Connect REST API, and the repository's connector files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataplat.errors import DataplatError
from dataplat.settings import Settings
from dataplat.setup import connect as setup

from .conftest import body_of

TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer.\n"
    "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    "Caused by: org.postgresql.util.PSQLException: ERROR: replication slot is active\n"
    "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2733)\n"
    'Caused by: java.io.IOException: FATAL: replication slot "dataplat_condo" is active for PID 42\n'
)


class FakeConnect:
    """Connectors by name; each status poll walks the next state of its script (the last one sticks)."""

    def __init__(self, *states: str) -> None:
        self.configs: dict[str, dict[str, str]] = {}
        self.script = list(states) or ["RUNNING"]
        self.polls = 0
        self.calls: list[tuple[str, str]] = []
        self.conflicts = 0  # PUTs answered 409 (a rebalance) before one succeeds
        self.invalid: dict[str, str] = {}  # key -> error: PUT fails with Connect 4.1's opaque 500

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, request.url.query.decode()
        self.calls.append((request.method, f"{path}?{query}" if query else path))
        parts = path.strip("/").split("/")
        if parts[0] == "connector-plugins":
            return self.validate(body_of(request))
        name = parts[1]
        if parts[2] == "config" and request.method == "GET":
            known = self.configs.get(name)
            return httpx.Response(200, json=known) if known else httpx.Response(404, json={"error_code": 404})
        if parts[2] == "config":
            return self.put(name, body_of(request))
        if parts[2] == "status":
            return self.status(name)
        assert parts[2] == "restart" and request.method == "POST"
        return httpx.Response(202, json={})

    def put(self, name: str, config: dict[str, str]) -> httpx.Response:
        if self.conflicts:
            self.conflicts -= 1
            return httpx.Response(409, json={"error_code": 409, "message": "rebalance in progress"})
        if self.invalid:
            return httpx.Response(
                500, json={"error_code": 500, "message": "Cannot invoke ConfigValueInfo.errors()"}
            )
        created = name not in self.configs
        self.configs[name] = {**config, "name": name}
        return httpx.Response(201 if created else 200, json={"name": name, "config": config, "tasks": []})

    def validate(self, config: dict[str, str]) -> httpx.Response:
        values: list[Any] = [
            {"value": {"name": key, "errors": [error]}} for key, error in self.invalid.items()
        ]
        values += [{"value": {"name": key, "errors": []}} for key in config] + [{"value": None}]
        return httpx.Response(200, json={"error_count": len(self.invalid), "configs": values})

    def status(self, name: str) -> httpx.Response:
        state = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        if state == "MISSING":
            return httpx.Response(404, json={"error_code": 404, "message": f"No status found for {name}"})
        task = {"id": 0, "state": state, "worker_id": "127.0.0.1:8083"}
        if state == "FAILED":
            task["trace"] = TRACE
        connector = {"state": "RUNNING" if state == "FAILED" else state, "worker_id": "127.0.0.1:8083"}
        return httpx.Response(
            200, json={"name": name, "connector": connector, "tasks": [task], "type": "source"}
        )


class FakeClock(setup.Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self.advance)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    """A pipelines folder holding a copy of the repository's condo connector."""
    root = tmp_path / "pipelines"
    folder = root / "condo" / "connectors"
    folder.mkdir(parents=True)
    repo_file = setup.PIPELINES / "condo" / "connectors" / "condo-postgres.json"
    (folder / "condo-postgres.json").write_text(repo_file.read_text())
    return root


def run(settings: Settings, fake: FakeConnect, pipelines: Path, **kwargs: Any) -> int:
    return setup.run(settings, fake.transport(), root=pipelines, clock=FakeClock(), **kwargs)


def writes(fake: FakeConnect) -> list[tuple[str, str]]:
    return [call for call in fake.calls if call[0] in ("PUT", "POST")]


def test_the_repository_connector_follows_the_cdc_settings(settings: Settings) -> None:
    [connector] = setup.connector_files()
    cdc, config = settings.cdc, connector.config
    assert connector.name == cdc.connector
    assert connector.source == setup.PIPELINES / cdc.database / "connectors" / f"{cdc.connector}.json"
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert (config["slot.name"], config["publication.name"]) == (cdc.slot, cdc.publication)
    assert config["topic.prefix"] == cdc.topic_prefix
    # the heartbeat table's events measure lag while the tables are idle; the signal table must be captured
    captured = [f"{cdc.schema_name}.{t}" for t in (*cdc.tables, cdc.heartbeat_table, cdc.signal_table)]
    assert config["table.include.list"].split(",") == captured
    assert config["signal.data.collection"] == f"{cdc.schema_name}.{cdc.signal_table}"
    assert config["plugin.name"] == "pgoutput" and config["publication.autocreate.mode"] == "disabled"
    assert f"INTO {cdc.schema_name}.{cdc.heartbeat_table} " in config["heartbeat.action.query"]
    assert config["decimal.handling.mode"] == "string" and config["tombstones.on.delete"] == "false"
    assert config["time.precision.mode"] == "adaptive_time_microseconds"
    assert config["key.converter.schemas.enable"] == config["value.converter.schemas.enable"] == "true"


def test_the_connector_file_names_its_endpoint_and_secrets_as_env_placeholders() -> None:
    [connector] = setup.connector_files()
    database = {key: value for key, value in connector.config.items() if key.startswith("database.")}
    assert database == {
        "database.hostname": "${env:CDC_PG_HOST}",
        "database.port": "${env:CDC_PG_PORT}",
        "database.user": "${env:CDC_PG_USER}",
        "database.password": "${env:CDC_PG_PASSWORD}",
        "database.dbname": "${env:CDC_PG_DATABASE}",
    }


def test_first_run_creates_and_waits_until_running_a_rerun_sends_nothing(
    settings: Settings, pipelines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeConnect("MISSING", "UNASSIGNED", "RUNNING")
    assert run(settings, fake, pipelines) == 0
    assert writes(fake) == [("PUT", "/connectors/condo-postgres/config")]
    assert fake.configs["condo-postgres"]["slot.name"] == "dataplat_condo"
    assert fake.polls == 3
    assert "condo-postgres created from pipelines/condo/connectors/condo-postgres.json: RUNNING" in (
        capsys.readouterr().out
    )

    fake.calls.clear()
    assert run(settings, fake, pipelines) == 0
    assert writes(fake) == []  # the same config: no PUT (it would restart the connector)
    assert "condo-postgres unchanged" in capsys.readouterr().out


def test_a_changed_file_is_put_again(
    settings: Settings, pipelines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeConnect()
    run(settings, fake, pipelines)
    path = pipelines / "condo" / "connectors" / "condo-postgres.json"
    body = json.loads(path.read_text())
    body["config"]["heartbeat.interval.ms"] = "5000"
    path.write_text(json.dumps(body))
    fake.calls.clear()
    assert run(settings, fake, pipelines) == 0
    assert writes(fake) == [("PUT", "/connectors/condo-postgres/config")]
    assert fake.configs["condo-postgres"]["heartbeat.interval.ms"] == "5000"
    assert "condo-postgres updated" in capsys.readouterr().out


def test_a_rebalance_conflict_is_retried(settings: Settings, pipelines: Path) -> None:
    fake = FakeConnect()
    fake.conflicts = 2
    assert run(settings, fake, pipelines) == 0
    assert writes(fake) == [("PUT", "/connectors/condo-postgres/config")] * 3


def test_a_failed_task_is_restarted_then_runs(settings: Settings, pipelines: Path) -> None:
    fake = FakeConnect("FAILED", "RESTARTING", "RUNNING")
    assert run(settings, fake, pipelines) == 0
    assert writes(fake) == [
        ("PUT", "/connectors/condo-postgres/config"),
        ("POST", "/connectors/condo-postgres/restart?includeTasks=true&onlyFailed=true"),
    ]


def test_a_task_that_keeps_failing_is_reported_with_its_trace(
    settings: Settings, pipelines: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeConnect("FAILED")
    with pytest.raises(setup.ConnectorError) as raised:
        run(settings, fake, pipelines)
    restarts = [call for call in writes(fake) if call[0] == "POST"]
    assert len(restarts) == setup.MAX_RESTARTS
    message = str(raised.value)
    assert message.startswith(
        "connector condo-postgres: still FAILED after 2 restarts, task 0 FAILED on 127.0.0.1:8083: "
    )
    assert "ConnectException: An exception occurred" in message
    assert message.endswith('replication slot "dataplat_condo" is active for PID 42')  # the root cause
    assert raised.value.trace == TRACE
    assert "QueryExecutorImpl" in capsys.readouterr().err  # the whole trace goes to the log


def test_a_connector_that_never_runs_times_out(settings: Settings, pipelines: Path) -> None:
    fake = FakeConnect("UNASSIGNED")
    with pytest.raises(setup.ConnectorError, match=r"not RUNNING in time: UNASSIGNED \(task 0 UNASSIGNED\)"):
        run(settings, fake, pipelines, timeout_s=10.0)
    assert 10 <= fake.polls <= 12


def test_a_paused_connector_is_left_alone(settings: Settings, pipelines: Path) -> None:
    fake = FakeConnect("PAUSED")
    assert run(settings, fake, pipelines) == 0
    assert [call for call in writes(fake) if call[0] == "POST"] == []


def test_a_refused_config_is_explained_by_the_validation_endpoint(
    settings: Settings, pipelines: Path
) -> None:
    fake = FakeConnect()
    fake.invalid = {"database.hostname": 'FATAL: password authentication failed for user "cdc_replicator"'}
    with pytest.raises(setup.ConnectorError) as raised:
        run(settings, fake, pipelines)
    assert "invalid config in " in str(raised.value)
    assert str(raised.value).endswith(
        'database.hostname: FATAL: password authentication failed for user "cdc_replicator"'
    )
    assert ("PUT", "/connector-plugins/PostgresConnector/config/validate") in fake.calls


def test_no_connector_files_is_fine(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeConnect()
    assert run(settings, fake, tmp_path) == 0
    assert fake.calls == [] and "no connector files" in capsys.readouterr().out


def test_malformed_and_duplicate_files_are_errors(pipelines: Path) -> None:
    other = pipelines / "other" / "connectors"
    other.mkdir(parents=True)
    (other / "copy.json").write_text((pipelines / "condo" / "connectors" / "condo-postgres.json").read_text())
    with pytest.raises(DataplatError, match="connector condo-postgres is in both"):
        setup.connector_files(pipelines)
    (other / "copy.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(DataplatError, match="not a connector file"):
        setup.connector_files(pipelines)
    (other / "copy.json").write_text(json.dumps({"name": "x", "config": {"name": "y"}}))
    with pytest.raises(DataplatError, match="'name', if any, is 'x'"):
        setup.connector_files(pipelines)


def test_trace_summary() -> None:
    assert setup.summary("") == ""
    assert setup.summary("java.lang.IllegalStateException: boom\n\tat x.y(Z.java:1)\n") == (
        "java.lang.IllegalStateException: boom"
    )


def test_main_exits_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> int:
        raise setup.ConnectorError("condo-postgres", "not RUNNING in time: no status yet")

    monkeypatch.setattr(setup, "run", fail)
    with pytest.raises(SystemExit) as exited:
        setup.main()
    assert exited.value.code == 1
    expected = "connect-setup: connector condo-postgres: not RUNNING in time: no status yet\n"
    assert capsys.readouterr().err == expected
