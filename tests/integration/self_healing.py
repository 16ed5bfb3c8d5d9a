"""Helpers of test_self_healing: SIGKILL a supervised service as a crash would, time its way back.

"Back" is judged as the runtime judges it (the spec's own readiness probe), on a process
supervisord started after the kill (a new pid, past ``startsecs``: RUNNING), and where the probe
could be answered by what the dead process left behind, on evidence dated after the kill
(``FRESH_EVIDENCE``). Children of the killed process that outlive it are orphans: reported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psutil
from rich.console import Console

from dataplat import demo
from dataplat.cdc_status import heartbeat_file as cdc_heartbeat_file
from dataplat.runtime import Stack, log_tail
from dataplat.services.airflow import HEALTH_PATH
from dataplat.services.streaming import heartbeat_file

POLL_S = 0.5
STACK_POLL_S = 2.0


@dataclass
class Recovery:
    """One kill and what followed; seconds are counted from the SIGKILL."""

    service: str
    killed_pid: int = 0
    new_pid: int = 0
    running_s: float | None = None  # supervisord ran a new process (RUNNING: past startsecs)
    ready_s: float | None = None  # ... and the spec's probe said ready (on fresh evidence)
    demo_ok: bool | None = None
    demo_s: float | None = None
    demo_steps: dict[str, float] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)  # children of the killed process still alive
    stack_healthy_s: float | None = None  # after the demo, until every service was healthy
    unhealthy_after: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Killed:
    pid: int
    at: float  # time.monotonic() of the kill
    wall: float  # time.time() of the kill (heartbeats carry wall-clock times)
    children: tuple[psutil.Process, ...]


class NotRecovered(AssertionError):
    """The killed service did not come back healthy within its budget."""


# -- evidence newer than the kill, where the probe alone could be fooled ----------------------


def _airflow_heartbeat(component: str) -> Callable[[Stack, float], str | None]:
    """The component's latest heartbeat in the health JSON post-dates the kill (the probe only
    asks for 'healthy', which the dead process's last heartbeat stays for 30 s)."""

    def check(stack: Stack, since: float) -> str | None:
        s = stack.ctx.settings
        body = httpx.get(f"http://{s.bind_host}:{s.ports.airflow}{HEALTH_PATH}", timeout=3).json()
        stamp = body[component].get(f"latest_{component}_heartbeat")
        if not stamp:
            return f"no {component} heartbeat yet"
        at = dt.datetime.fromisoformat(stamp)
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        ahead = at.timestamp() - since
        return None if ahead > 0 else f"latest {component} heartbeat is from {-ahead:.0f} s before the kill"

    return check


def _streaming_heartbeat(stack: Stack, since: float) -> str | None:
    """The heartbeat file was written after the kill (the probe accepts one up to 30 s old)."""
    path = heartbeat_file(stack.ctx)
    ts = float(json.loads(path.read_text())["ts"]) if path.exists() else 0.0
    return None if ts > since else "no streaming heartbeat since the kill yet"


def _cdc_restarted(stack: Stack, since: float) -> str | None:
    """The CDC app's heartbeat comes from a process started after the kill (the probe accepts a
    heartbeat up to 30 s old, which the killed app leaves behind)."""
    path = cdc_heartbeat_file(stack.paths)
    started = float(json.loads(path.read_text()).get("started_at", 0.0)) if path.exists() else 0.0
    return None if started > since else "no CDC app started since the kill yet"


def _datanode_registered(stack: Stack, since: float) -> str | None:
    """The new DataNode's block pool actor is RUNNING, i.e. registered with the NameNode (the
    probe counts live DataNodes, and the NameNode counts a dead one live for ~10 minutes)."""
    s = stack.ctx.settings
    url = f"http://{s.bind_host}:{s.ports.datanode_http}/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo"
    [bean] = httpx.get(url, timeout=3).json()["beans"]
    actors = json.loads(bean["BPServiceActorInfo"])
    states = [actor.get("ActorState") for actor in actors]
    return None if states and all(state == "RUNNING" for state in states) else f"block pool actors {states}"


FRESH_EVIDENCE: dict[str, Callable[[Stack, float], str | None]] = {
    "airflow-scheduler": _airflow_heartbeat("scheduler"),
    "airflow-dag-processor": _airflow_heartbeat("dag_processor"),
    "airflow-triggerer": _airflow_heartbeat("triggerer"),
    "streaming": _streaming_heartbeat,
    "cdc": _cdc_restarted,
    "datanode": _datanode_registered,
}


# -- kill, wait, check -----------------------------------------------------------------------


def kill(stack: Stack, name: str) -> Killed:
    """SIGKILL the process supervisord started for ``name`` (not its group: a crash kills one)."""
    info = stack.supervisor.info(name)
    assert info.state == "RUNNING" and info.pid > 0, f"{name} is not running before the kill: {info}"
    children = tuple(psutil.Process(info.pid).children(recursive=True))
    os.kill(info.pid, signal.SIGKILL)
    return Killed(info.pid, time.monotonic(), time.time(), children)


def wait_recovered(stack: Stack, name: str, killed: Killed, budget_s: float) -> tuple[float, float, int]:
    """Poll until a new process of ``name`` is RUNNING and ready; (running_s, ready_s, new pid).

    Nothing is started here: the restart must come from the platform (supervisord's autorestart).
    """
    spec, fresh = stack.specs[name], FRESH_EVIDENCE.get(name)
    assert spec.probe is not None, f"{name} has no readiness probe"
    running_s: float | None = None
    reason = "not polled yet"
    while (elapsed := time.monotonic() - killed.at) < budget_s:
        info = stack.supervisor.info(name)
        if info.state == "RUNNING" and info.pid not in (0, killed.pid):
            running_s = elapsed if running_s is None else running_s
            result = spec.probe()
            reason = result.reason
            if result.ok:
                problem = _fresh(fresh, stack, killed.wall)
                if problem is None:
                    return running_s, time.monotonic() - killed.at, info.pid
                reason = problem
        else:
            reason = f"process {info.state} (pid {info.pid}): {info.description}"
            if info.state == "FATAL":  # supervisord gave up: no restart will come
                break
        time.sleep(POLL_S)
    alive = describe(survivors(killed.children, grace_s=0))
    raise NotRecovered(
        f"{name} (pid {killed.pid}) not healthy {time.monotonic() - killed.at:.0f} s after SIGKILL "
        f"(budget {budget_s:.0f} s): {reason}\n"
        f"children of the killed process still alive: {alive or 'none'}\n"
        f"last lines of {stack.supervisor.log_file(name)}:\n{log_tail(stack.supervisor.log_file(name))}"
    )


def _fresh(check: Callable[[Stack, float], str | None] | None, stack: Stack, since: float) -> str | None:
    if check is None:
        return None
    try:
        return check(stack, since)
    except Exception as error:  # noqa: BLE001 - any client error means "not yet"
        return f"{type(error).__name__}: {error}"[:300]


def survivors(procs: Iterable[psutil.Process], grace_s: float) -> list[psutil.Process]:
    """Those of ``procs`` still alive (zombies count as gone) after up to ``grace_s`` seconds."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = [proc for proc in procs if _alive(proc)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(POLL_S)


def _alive(proc: psutil.Process) -> bool:
    try:  # is_running() also checks the pid was not reused (create time)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def describe(procs: Sequence[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.Error:
            out.append(f"{proc.pid} (gone)")
    return out


def kill_orphans(procs: Iterable[psutil.Process]) -> None:
    """Clean-up after a failed case: end the killed process's surviving children (by pid)."""
    for proc in procs:
        if _alive(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def unhealthy(stack: Stack) -> dict[str, str]:
    return {s.name: f"{s.state}: {s.readiness.reason}" for s in stack.status() if not s.readiness.ok}


def wait_healthy(stack: Stack, timeout_s: float) -> tuple[dict[str, str], float]:
    """Poll ``status`` until every service is healthy; (what is not after ``timeout_s``, seconds)."""
    started = time.monotonic()
    while (bad := unhealthy(stack)) and time.monotonic() - started < timeout_s:
        time.sleep(STACK_POLL_S)
    return bad, time.monotonic() - started


def run_demo(stack: Stack) -> tuple[bool, float, dict[str, float], str]:
    """``dataplat demo`` as the CLI runs it: (all steps ok, seconds, seconds per step, report)."""
    out = io.StringIO()
    started = time.monotonic()
    results = demo.run_demo(stack.ctx.settings, Console(file=out, width=160))
    seconds = time.monotonic() - started
    report = "\n".join(
        f"  {r.name}: {'ok' if r.ok else 'FAILED'} ({r.seconds:.1f} s) {r.detail}" for r in results
    )
    return all(r.ok for r in results), seconds, {r.name: round(r.seconds, 1) for r in results}, report


# -- report ----------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(records: Sequence[Recovery]) -> list[str]:
    header = f"{'service':<22} {'pid':>8} {'running s':>9} {'ready s':>8} {'demo':>5} {'demo s':>7} "
    header += f"{'stack ok s':>10} {'orphans':>7}  error"
    lines = [header, "-" * len(header)]
    for r in records:
        demo_cell = "-" if r.demo_ok is None else ("ok" if r.demo_ok else "FAIL")
        lines.append(
            f"{r.service:<22} {r.killed_pid:>8} {_s(r.running_s):>9} {_s(r.ready_s):>8} {demo_cell:>5} "
            f"{_s(r.demo_s):>7} {_s(r.stack_healthy_s):>10} {len(r.orphans):>7}  "
            f"{r.error.splitlines()[0][:80] if r.error else ''}".rstrip()
        )
    return lines


def write_report(records: Sequence[Recovery], budgets: dict[str, float], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": "seconds from SIGKILL of each service's main process until it was healthy again",
        "budget_s": budgets,
        "results": [asdict(r) for r in records],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
