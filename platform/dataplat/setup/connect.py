"""``connect-setup``: apply the repository's connector files to Kafka Connect and wait until they run.

``python -m dataplat.setup.connect`` (every ``up``, once ``connect`` is healthy) reads each
``pipelines/*/connectors/*.json`` (``{"name": ..., "config": {...}}``, the body of Connect's
``POST /connectors``), applies it with ``PUT /connectors/<name>/config`` when it differs from
Connect's (creates or updates: safe to repeat), then polls ``/connectors/<name>/status`` until the
connector and each of its tasks is RUNNING. What FAILED is restarted
(``POST .../restart?includeTasks=true&onlyFailed=true``) up to :data:`MAX_RESTARTS` times; after
that, or past the timeout, the step fails naming the task and the first and last lines of its trace
(the whole trace goes to this step's log). Connectors an operator paused or stopped are left as they
are. Connectors without a file here are not touched.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dataplat.errors import DataplatError
from dataplat.settings import REPO_ROOT, Settings, get_settings
from dataplat.setup.rest import checked

PIPELINES = REPO_ROOT / "pipelines"
CONNECTOR_FILES = "*/connectors/*.json"
TOOL = "connect-setup"
MAX_RESTARTS = 2
TIMEOUT_S = 120.0  # per connector, from its PUT to all tasks RUNNING
POLL_S = 1.0
RETRY_STATUS = (httpx.codes.CONFLICT,)  # rebalance in progress: Connect asks to try again
SETTLED = ("PAUSED", "STOPPED")  # an operator's choice: left alone


class ConnectorError(DataplatError):
    """A connector that does not run, with the facts: which one, which task, why."""

    def __init__(self, name: str, detail: str, trace: str = "") -> None:
        self.name, self.detail, self.trace = name, detail, trace
        super().__init__(f"connector {name}: {detail}" + (f": {summary(trace)}" if trace else ""))


@dataclass(frozen=True)
class Connector:
    name: str
    config: dict[str, str]
    source: Path


@dataclass(frozen=True)
class Task:
    id: int
    state: str
    worker: str = ""
    trace: str = ""


@dataclass(frozen=True)
class Status:
    """``GET /connectors/<name>/status``: the connector's state and its tasks'."""

    state: str
    tasks: tuple[Task, ...]
    trace: str = ""

    @classmethod
    def parse(cls, body: Any) -> Status:
        tasks = tuple(
            Task(int(t["id"]), t["state"], t.get("worker_id", ""), t.get("trace", "")) for t in body["tasks"]
        )
        return cls(body["connector"]["state"], tasks, body["connector"].get("trace", ""))

    @property
    def running(self) -> bool:
        return self.state == "RUNNING" and bool(self.tasks) and all(t.state == "RUNNING" for t in self.tasks)

    @property
    def failed(self) -> bool:
        return self.state == "FAILED" or any(t.state == "FAILED" for t in self.tasks)

    def describe(self) -> str:
        tasks = ", ".join(f"task {t.id} {t.state}" for t in self.tasks) or "no tasks yet"
        return f"{self.state} ({tasks})"


def summary(trace: str) -> str:
    """A Java trace's first line and its root cause (the last ``Caused by:``)."""
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    causes = [line for line in lines if line.startswith("Caused by:")]
    return lines[0] if not causes else f"{lines[0]} ... {causes[-1]}"


def load(path: Path) -> Connector:
    """One connector file; its ``config`` values as strings (what Connect stores)."""
    try:
        body = json.loads(path.read_text())
        name, config = body["name"], body["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataplatError(f"{path}: not a connector file (name and config): {error}") from None
    if not isinstance(config, dict) or config.get("name", name) != name:
        raise DataplatError(f"{path}: 'config' must be an object whose 'name', if any, is {name!r}")
    return Connector(str(name), {str(key): str(value) for key, value in config.items()}, path)


def connector_files(root: Path = PIPELINES) -> list[Connector]:
    """Every pipeline's connectors, by path; a name used twice is an error."""
    connectors = [load(path) for path in sorted(root.glob(CONNECTOR_FILES))]
    seen: dict[str, Path] = {}
    for connector in connectors:
        if (first := seen.setdefault(connector.name, connector.source)) != connector.source:
            raise DataplatError(f"connector {connector.name} is in both {first} and {connector.source}")
    return connectors


@dataclass
class Clock:
    """Time for the waits (a fake one in tests)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def apply(client: httpx.Client, connector: Connector, deadline: float, clock: Clock) -> str:
    """``PUT`` the config (retried while Connect rebalances): "created", "updated" or "unchanged".

    An unchanged config is not sent again (a PUT restarts the connector even then). A refused config
    is explained by Connect's validation endpoint (the PUT's own answer can be an opaque HTTP 500:
    Connect 4.1 trips over Debezium 3.6's validation results when one has errors).
    """
    current = client.get(f"/connectors/{connector.name}/config")
    wanted = {**connector.config, "name": connector.name}  # Connect stores the name with the config
    if current.status_code == httpx.codes.OK and current.json() == wanted:
        return "unchanged"
    while True:
        response = client.put(f"/connectors/{connector.name}/config", json=connector.config)
        if response.status_code not in RETRY_STATUS or clock.now() >= deadline:
            break
        clock.sleep(POLL_S)
    if response.status_code >= httpx.codes.BAD_REQUEST and (errors := validation_errors(client, connector)):
        raise ConnectorError(connector.name, f"invalid config in {connector.source}: {'; '.join(errors)}")
    checked(response)
    return "created" if response.status_code == httpx.codes.CREATED else "updated"


def validation_errors(client: httpx.Client, connector: Connector) -> list[str]:
    """``key: error`` for each setting Connect's validation rejects (empty when it cannot tell)."""
    plugin = connector.config.get("connector.class", "").rsplit(".", 1)[-1]
    body = {**connector.config, "name": connector.name}
    try:
        response = client.put(f"/connector-plugins/{plugin}/config/validate", json=body)
        configs = response.json()["configs"] if response.status_code == httpx.codes.OK else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []
    values = [config.get("value") or {} for config in configs]
    return [f"{value['name']}: {error}" for value in values for error in value.get("errors") or ()]


def status(client: httpx.Client, name: str) -> Status | None:
    """The connector's status; None while Connect has not recorded one yet."""
    response = client.get(f"/connectors/{name}/status")
    if response.status_code == httpx.codes.NOT_FOUND:
        return None
    return Status.parse(checked(response))


def restart_failed(client: httpx.Client, name: str) -> None:
    checked(client.post(f"/connectors/{name}/restart", params={"includeTasks": "true", "onlyFailed": "true"}))


def wait_running(client: httpx.Client, name: str, deadline: float, clock: Clock) -> Status:
    """Poll until RUNNING (or paused/stopped by an operator), restarting failures a few times."""
    restarts = 0
    current: Status | None = None
    while True:
        current = status(client, name)
        if current is not None and (current.running or current.state in SETTLED):
            return current
        if current is not None and current.failed:
            if restarts >= MAX_RESTARTS:
                raise _failure(name, current, f"still FAILED after {restarts} restarts")
            restarts += 1
            print(f"{TOOL}: {name} {current.describe()}: restart {restarts} of {MAX_RESTARTS}")
            restart_failed(client, name)
        elif clock.now() >= deadline:
            state = current.describe() if current is not None else "no status yet"
            raise ConnectorError(name, f"not RUNNING in time: {state}")
        clock.sleep(POLL_S)


def _failure(name: str, current: Status, why: str) -> ConnectorError:
    failed = [t for t in current.tasks if t.state == "FAILED"]
    if current.state == "FAILED" or not failed:
        print(current.trace, file=sys.stderr)
        return ConnectorError(name, f"{why}, connector FAILED", current.trace)
    task = failed[0]
    print(task.trace, file=sys.stderr)
    return ConnectorError(name, f"{why}, task {task.id} FAILED on {task.worker}", task.trace)


def run(
    settings: Settings | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    root: Path = PIPELINES,
    timeout_s: float = TIMEOUT_S,
    clock: Clock | None = None,
) -> int:
    """Apply every connector file and wait until each runs (raises :class:`DataplatError` otherwise)."""
    s, clock = settings or get_settings(), clock or Clock()
    connectors = connector_files(root)
    if not connectors:
        print(f"{TOOL}: no connector files ({root}/{CONNECTOR_FILES})")
        return 0
    with httpx.Client(base_url=s.connect_url, timeout=30.0, transport=transport) as client:
        for connector in connectors:
            deadline = clock.now() + timeout_s
            made = apply(client, connector, deadline, clock)
            final = wait_running(client, connector.name, deadline, clock)
            where = connector.source.relative_to(root)
            print(f"{TOOL}: {connector.name} {made} from pipelines/{where}: {final.describe()}")
    return 0


def main() -> None:
    try:
        code = run()
    except (DataplatError, httpx.HTTPError) as error:
        print(f"{TOOL}: {error}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
