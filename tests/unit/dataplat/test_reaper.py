"""The orphan reaper: a SIGKILLed service's children die with it (real supervisord)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from dataplat.reaper import exited_pid, reap_group
from dataplat.runtime import Stack
from dataplat.settings import Settings
from dataplat.spec import Readiness, ServiceSpec


def test_exited_pid_reads_the_payload() -> None:
    line = "processname:web groupname:web from_state:RUNNING expected:0 pid:4242"
    assert exited_pid(line) == 4242
    assert exited_pid("processname:web expected:1") is None
    assert exited_pid("pid:1") is None  # never the init process's group


def test_reap_group_of_a_finished_group_is_a_no_op() -> None:
    process = psutil.Popen(["true"], start_new_session=True)
    process.wait()
    assert reap_group(process.pid) is False


def _wait(condition: object, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_a_sigkilled_daemon_leaves_no_children_behind(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", cache=tmp_path / "cache", ready_timeout_s=20)
    child_file = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {child_file}; exec sleep 300"
    spec = ServiceSpec("parent", ("sh", "-c", script), probe=lambda: Readiness(child_file.exists()))
    stack = Stack(settings, specs=[spec])
    try:
        stack.up()
        child = int(child_file.read_text())
        # supervisord reports a death as EXITED (with its pid) once the process counts as RUNNING
        assert _wait(lambda: stack.supervisor.info("parent").state == "RUNNING")
        parent = stack.supervisor.info("parent").pid
        child_file.unlink()
        os.kill(parent, signal.SIGKILL)
        assert _wait(lambda: not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie")
        # supervisord restarted the service, which started a fresh child
        assert _wait(child_file.exists)
        assert stack.supervisor.info("parent").pid != parent
    finally:
        stack.down()
