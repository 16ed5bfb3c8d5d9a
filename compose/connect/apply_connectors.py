"""``connect-setup`` of the compose stack: apply the repository's connector files to Kafka Connect.

The compose counterpart of ``dataplat.setup.connect`` (the native step), in the standard library only
since no image carries the platform's runtime. Each file matching ``$CONNECTOR_FILES`` (the mounted
``pipelines/*/connectors/*.json``, ``{"name": ..., "config": {...}}``) is applied with
``PUT $CONNECT_URL/connectors/<name>/config`` when it differs from Connect's (a PUT restarts a
connector even when nothing changed; a 409 while Connect rebalances is retried), then polled until the
connector and each of its tasks is RUNNING. What FAILED is restarted up to
``$CONNECT_SETUP_MAX_RESTARTS`` times; after that, or past ``$CONNECT_SETUP_TIMEOUT_S`` seconds per
connector, the step fails naming the task and its trace's first line and root cause. Connectors an
operator paused or stopped are left as they are. The variables are rendered into
``config/connect/connect-setup.env`` by ``dataplat.compose_render`` from the native step's constants.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

Call = Callable[[str, str, Any], tuple[int, Any]]  # (method, path, JSON body or None) -> (status, JSON)
POLL_S = 1.0
SETTLED = ("PAUSED", "STOPPED")  # an operator's choice: left alone
CONFLICT = 409  # a rebalance in progress: Connect asks to try again
TOOL = "connect-setup"


class SetupError(Exception):
    """A connector file that cannot be applied, or a connector that does not run."""


class Clock:
    """Time for the waits (a fake one in tests)."""

    def __init__(
        self, now: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.now, self.sleep = now, sleep


def http(base_url: str, timeout_s: float = 30.0) -> Call:
    """JSON over HTTP to Connect's REST API; an error status is returned, not raised."""

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        request = urllib.request.Request(base_url.rstrip("/") + path, data, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - rendered URL
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")[:300]

    return call


def load(path: Path) -> tuple[str, dict[str, str]]:
    """One connector file: its name and its config's values as strings (what Connect stores)."""
    try:
        body = json.loads(path.read_text())
        name, config = body["name"], body["config"]
    except (ValueError, KeyError, TypeError) as error:
        raise SetupError(f"{path}: not a connector file (name and config): {error}") from None
    if not isinstance(config, dict) or config.get("name", name) != name:
        raise SetupError(f"{path}: 'config' must be an object whose 'name', if any, is {name!r}")
    return str(name), {str(key): str(value) for key, value in config.items()}


def connector_files(pattern: str) -> list[tuple[Path, str, dict[str, str]]]:
    """Every file matching ``pattern``, by path; a name used twice is an error."""
    found = [(Path(path), *load(Path(path))) for path in sorted(glob.glob(pattern))]
    seen: dict[str, Path] = {}
    for path, name, _ in found:
        if (first := seen.setdefault(name, path)) != path:
            raise SetupError(f"connector {name} is in both {first} and {path}")
    return found


def summary(trace: str) -> str:
    """A Java trace's first line and its root cause (the last ``Caused by:``)."""
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith("Caused by:")]
    return "" if not lines else lines[0] if not causes else f"{lines[0]} ... {causes[-1]}"


def apply(call: Call, name: str, config: dict[str, str], deadline: float, clock: Clock) -> str:
    """PUT the config when it differs from Connect's: "created", "updated" or "unchanged"."""
    status, current = call("GET", f"/connectors/{name}/config", None)
    if status == 200 and current == {**config, "name": name}:
        return "unchanged"
    while True:
        status, answer = call("PUT", f"/connectors/{name}/config", config)
        if status != CONFLICT or clock.now() >= deadline:
            break
        clock.sleep(POLL_S)
    if status >= 400:
        errors = validation_errors(call, name, config)
        detail = "; ".join(errors) if errors else f"HTTP {status} {answer}"
        raise SetupError(f"connector {name}: PUT /connectors/{name}/config refused: {detail}")
    return "created" if status == 201 else "updated"


def validation_errors(call: Call, name: str, config: dict[str, str]) -> list[str]:
    """``key: error`` for each setting Connect's validation rejects (empty when it cannot tell)."""
    plugin = config.get("connector.class", "").rsplit(".", 1)[-1]
    status, body = call("PUT", f"/connector-plugins/{plugin}/config/validate", {**config, "name": name})
    if status != 200 or not isinstance(body, dict):
        return []
    values = [item.get("value") or {} for item in body.get("configs", [])]
    return [f"{value['name']}: {error}" for value in values for error in value.get("errors") or ()]


def describe(state: str, tasks: list[dict[str, Any]]) -> str:
    """``RUNNING (task 0 RUNNING)``: the connector's state and its tasks'."""
    listed = ", ".join("task {} {}".format(task["id"], task["state"]) for task in tasks)
    return f"{state} ({listed or 'no tasks yet'})"


def failure(name: str, connector: dict[str, Any], tasks: list[dict[str, Any]], restarts: int) -> SetupError:
    """Why the connector still fails: the failed task (or the connector) and its trace's summary."""
    failed = [task for task in tasks if task["state"] == "FAILED"]
    if connector["state"] == "FAILED" or not failed:
        where, trace = "connector", connector.get("trace", "")
    else:
        where, trace = (
            f"task {failed[0]['id']} on {failed[0].get('worker_id', '?')}",
            failed[0].get("trace", ""),
        )
    print(trace, file=sys.stderr)  # the whole trace goes to this step's log
    return SetupError(f"connector {name}: {where} still FAILED after {restarts} restarts: {summary(trace)}")


def wait_running(call: Call, name: str, deadline: float, clock: Clock, max_restarts: int) -> str:
    """Poll the status until RUNNING (or paused/stopped), restarting failures a few times."""
    restarts = 0
    while True:
        status, body = call("GET", f"/connectors/{name}/status", None)
        if status >= 400 and status != 404:  # 404: Connect has not recorded a status yet
            raise SetupError(f"connector {name}: GET /connectors/{name}/status: HTTP {status} {body}")
        connector, tasks = (
            (body["connector"], body["tasks"]) if status == 200 else ({"state": "no status yet"}, [])
        )
        state = connector["state"]
        if (state == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks)) or state in SETTLED:
            return describe(state, tasks)
        if state == "FAILED" or any(task["state"] == "FAILED" for task in tasks):
            if restarts >= max_restarts:
                raise failure(name, connector, tasks, restarts)
            restarts += 1
            print(f"{TOOL}: {name} {describe(state, tasks)}: restart {restarts} of {max_restarts}")
            call("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true", None)
        elif clock.now() >= deadline:
            raise SetupError(f"connector {name}: not RUNNING in time: {describe(state, tasks)}")
        clock.sleep(POLL_S)


def run(call: Call, pattern: str, timeout_s: float, max_restarts: int, clock: Clock | None = None) -> int:
    """Apply every connector file and wait until each runs (raises :class:`SetupError` otherwise)."""
    clock = clock or Clock()
    connectors = connector_files(pattern)
    if not connectors:
        print(f"{TOOL}: no connector files ({pattern})")
    for path, name, config in connectors:
        deadline = clock.now() + timeout_s
        made = apply(call, name, config, deadline, clock)
        final = wait_running(call, name, deadline, clock, max_restarts)
        print(f"{TOOL}: {name} {made} from {path}: {final}")
    return 0


def main() -> int:
    env = os.environ
    try:
        return run(
            http(env["CONNECT_URL"]),
            env["CONNECTOR_FILES"],
            float(env["CONNECT_SETUP_TIMEOUT_S"]),
            int(env["CONNECT_SETUP_MAX_RESTARTS"]),
        )
    except (SetupError, OSError, KeyError) as error:
        print(f"{TOOL}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
