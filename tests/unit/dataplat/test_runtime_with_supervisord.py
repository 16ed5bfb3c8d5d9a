"""The orchestration logic against a real supervisord, with tiny stand-in processes."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplat.errors import PortInUse, ServiceFailedToStart
from dataplat.ports import free_port
from dataplat.probes import http_probe
from dataplat.runtime import Stack
from dataplat.settings import Settings
from dataplat.spec import Condition, Kind, Readiness, ServiceSpec
from dataplat.supervisor_client import ProcessInfo


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", cache=tmp_path / "cache", ready_timeout_s=20)


def web_spec(name: str, port: int, **extra: object) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        argv=(sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"),
        probe=http_probe(f"http://127.0.0.1:{port}/"),
        ports={"http": port},
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def stack_factory(settings: Settings) -> Iterator[list[Stack]]:
    made: list[Stack] = []
    yield made
    for stack in made:
        stack.down()


def test_oneshot_then_daemon_in_order_and_oneshot_runs_once(
    settings: Settings, tmp_path: Path, stack_factory: list[Stack]
) -> None:
    marker = tmp_path / "formatted"
    events: list[tuple[str, str]] = []
    port = free_port()
    specs = [
        ServiceSpec(
            "format", ("sh", "-c", f"echo formatting; touch {marker}"), kind=Kind.ONESHOT, creates=marker
        ),
        web_spec("web", port, depends_on={"format": Condition.COMPLETED}),
    ]
    stack = Stack(settings, observer=lambda n, p, d: events.append((n, p)), specs=specs)
    stack_factory.append(stack)
    stack.up()
    assert marker.exists()
    assert events.index(("format", "ready")) < events.index(("web", "starting"))
    assert {s.name: s.readiness.ok for s in stack.status()} == {"format": True, "web": True}
    stack.down()
    assert not stack.supervisor.running()
    events.clear()
    stack.up()
    assert ("format", "starting") not in events  # skipped: it already ran


def test_failing_daemon_stops_bring_up_with_its_log(settings: Settings, stack_factory: list[Stack]) -> None:
    specs = [
        ServiceSpec(
            "broken",
            ("sh", "-c", "echo cannot bind the port; exit 3"),
            probe=http_probe("http://127.0.0.1:1/"),
            hint="check the port",
        )
    ]
    stack = Stack(settings, specs=specs)
    stack_factory.append(stack)
    with pytest.raises(ServiceFailedToStart) as failure:
        stack.up()
    assert failure.value.name == "broken"
    assert "cannot bind the port" in failure.value.log_tail
    assert failure.value.hint == "check the port"


def test_busy_port_names_its_owner(settings: Settings, stack_factory: list[Stack]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(settings, specs=[web_spec("web", port)])
        stack_factory.append(stack)
        with pytest.raises(PortInUse) as failure:
            stack.up()
    assert failure.value.port == port


def test_second_up_is_a_no_op(settings: Settings, stack_factory: list[Stack]) -> None:
    stack = Stack(settings, specs=[web_spec("web", free_port())])
    stack_factory.append(stack)
    stack.up()
    pid = stack.supervisor.info("web").pid
    stack.up()
    assert stack.supervisor.info("web").pid == pid


def test_a_daemon_killed_just_before_up_is_waited_for(settings: Settings, stack_factory: list[Stack]) -> None:
    """SIGKILL leaves it EXITED until supervisord restarts it: `up` waits instead of failing."""
    stack = Stack(settings, specs=[web_spec("web", free_port())])
    stack_factory.append(stack)
    stack.up()
    pid = stack.supervisor.info("web").pid
    os.kill(pid, signal.SIGKILL)
    stack.up(["web"])
    restarted = stack.supervisor.info("web")
    assert restarted.state in {"STARTING", "RUNNING"} and restarted.pid not in {0, pid}


def test_only_final_exits_fail_a_daemons_start(settings: Settings) -> None:
    stack = Stack(settings, specs=[web_spec("web", free_port())])
    waiting = Readiness.waiting("process exited")
    now = time.monotonic()
    stack._fail_if_stuck("web", waiting, ProcessInfo("web", "EXITED", 0, -1, "killed"), now)  # restarts
    for final in (ProcessInfo("web", "EXITED", 0, 0, "exit 0"), ProcessInfo("web", "FATAL", 0, 1, "gave up")):
        with pytest.raises(ServiceFailedToStart):
            stack._fail_if_stuck("web", waiting, final, now)


def test_restart_brings_back_its_dependents_and_leaves_others_running(
    settings: Settings, stack_factory: list[Stack]
) -> None:
    """`restart base` from a shell whose environment changed an unrelated service's config (airflow's
    PATH comes from the caller's environment) once stopped that service and never started it again."""

    def specs(path: str) -> list[ServiceSpec]:
        return [
            web_spec("base", base_port),
            ServiceSpec("step", ("true",), kind=Kind.ONESHOT, depends_on={"base": Condition.HEALTHY}),
            web_spec("dependent", dependent_port, depends_on={"step": Condition.COMPLETED}),
            web_spec("unrelated", unrelated_port, env={"PATH": path}),
        ]

    base_port, dependent_port, unrelated_port = free_port(), free_port(), free_port()
    first = Stack(settings, specs=specs("/usr/bin:/bin"))
    stack_factory.append(first)
    first.up()
    pids = {name: first.supervisor.info(name).pid for name in ("base", "dependent", "unrelated")}
    events: list[tuple[str, str, str]] = []
    second = Stack(settings, observer=lambda *event: events.append(event), specs=specs("/other/bin:/bin"))
    assert second.restart("base") == {}  # nothing left stopped
    after = {name: second.supervisor.info(name) for name in pids}
    assert all(info.state in {"STARTING", "RUNNING"} for info in after.values()), after
    assert after["base"].pid != pids["base"] and after["dependent"].pid != pids["dependent"]
    assert after["unrelated"].pid == pids["unrelated"]  # not bounced by a restart that does not concern it
    assert any(name == "unrelated" and "config changed" in detail for name, _, detail in events)
    second.up()  # a full `up` applies the changed config
    assert second.supervisor.info("unrelated").pid != pids["unrelated"]
    second.down(["dependent"])
    left = second.not_running(["base", "dependent", "step"])
    assert list(left) == ["dependent"] and left["dependent"].startswith("stopped")


def test_up_times_each_service_from_its_own_start(settings: Settings, stack_factory: list[Stack]) -> None:
    slow_port, fast_port = free_port(), free_port()
    slow = ServiceSpec(
        "slow",
        ("sh", "-c", f"sleep 2; exec {sys.executable} -m http.server {slow_port} --bind 127.0.0.1"),
        probe=http_probe(f"http://127.0.0.1:{slow_port}/"),
        ports={"http": slow_port},
    )
    fast = web_spec("fast", fast_port, depends_on={"slow": Condition.HEALTHY})
    events: list[tuple[str, str, str]] = []
    stack = Stack(settings, observer=lambda *event: events.append(event), specs=[slow, fast])
    stack_factory.append(stack)
    stack.up()
    times = {t.name: t for t in stack.ready_times}
    assert list(times) == ["slow", "fast"]
    assert times["slow"].took_s >= 2 and times["fast"].started_s >= times["slow"].ready_s
    assert times["fast"].took_s < times["slow"].took_s  # from its own start, not the bring-up's
    ready = {name: detail for name, phase, detail in events if phase == "ready"}
    slow_time = times["slow"]
    assert ready["slow"].startswith(f"in {slow_time.took_s:.1f} s (at {slow_time.ready_s:.1f} s)")
    stack.up()  # nothing started: nothing timed
    assert stack.ready_times == []
