"""Talk to supervisord over its unix socket (XML-RPC), starting it when needed."""

from __future__ import annotations

import subprocess
import time
import xmlrpc.client
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psutil
from supervisor.xmlrpc import SupervisorTransport

from dataplat.paths import Paths, venv_bin
from dataplat.supervisor_conf import SOCKET_NAME

LIVE_STATES = frozenset({"STARTING", "RUNNING", "BACKOFF"})


class SupervisorUnavailable(RuntimeError):
    """supervisord is not running (or its socket is stale)."""


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    state: str  # STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN
    pid: int
    exit_status: int
    description: str

    @classmethod
    def from_rpc(cls, info: dict[str, Any]) -> ProcessInfo:
        return cls(info["name"], info["statename"], info["pid"], info["exitstatus"], info["description"])


class Supervisor:
    """A thin typed wrapper over supervisord's XML-RPC interface."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.conf_file = paths.conf / "supervisord.conf"
        self.socket = paths.run / SOCKET_NAME

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return cast(str, self._proxy().getState()["statename"]) == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def ensure_started(self, timeout_s: float = 15.0, replace: Collection[str] | None = None) -> list[str]:
        """Start supervisord (daemonized) unless it already runs; a stale socket is replaced.

        Returns the running programs whose changed config waits for their next start (see ``reload``).
        """
        if self.running():
            return self.reload(replace)
        self.socket.unlink(missing_ok=True)
        (self.paths.run / "supervisord.pid").unlink(missing_ok=True)
        subprocess.run([str(venv_bin() / "supervisord"), "-c", str(self.conf_file)], check=True)
        deadline = time.monotonic() + timeout_s
        while not self.running():
            if time.monotonic() > deadline:
                log = self.paths.logs / "supervisord.log"
                raise SupervisorUnavailable(f"supervisord did not start; see {log}")
            time.sleep(0.1)
        return []

    def reload(self, replace: Collection[str] | None = None) -> list[str]:
        """Apply a re-rendered config: add new programs, replace changed ones (like ``update``).

        Replacing a program stops it. A changed program that runs and is not in ``replace``
        (default: every program) keeps running on its previous config, so starting some services
        never stops others; their names are returned (the next reload still sees them changed).
        """
        proxy = self._proxy()
        [[added, changed, removed]] = proxy.reloadConfig()
        kept = []
        for name in removed:
            proxy.stopProcessGroup(name, True)
            proxy.removeProcessGroup(name)
        for name in changed:
            if replace is not None and name not in replace and self._live(proxy, name):
                kept.append(name)
                continue
            proxy.stopProcessGroup(name, True)
            proxy.removeProcessGroup(name)
            proxy.addProcessGroup(name)
        for name in added:
            proxy.addProcessGroup(name)
        return kept

    @staticmethod
    def _live(proxy: Any, name: str) -> bool:
        return cast(str, proxy.getProcessInfo(name)["statename"]) in LIVE_STATES

    def info(self, name: str) -> ProcessInfo:
        return ProcessInfo.from_rpc(self._proxy().getProcessInfo(name))

    def all_info(self) -> dict[str, ProcessInfo]:
        if not self.running():
            return {}
        return {i["name"]: ProcessInfo.from_rpc(i) for i in self._proxy().getAllProcessInfo()}

    def start(self, name: str) -> None:
        try:
            self._proxy().startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def stop(self, name: str) -> None:
        try:
            self._proxy().stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop supervisord and wait until it has exited: on its way out it unlinks its socket path,
        which would take the socket of a supervisord started meanwhile (``reset`` then ``up``)."""
        if not self.running():
            return
        proxy = self._proxy()
        pid = int(proxy.getPID())
        proxy.shutdown()
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_file(self, name: str) -> Path:
        return self.paths.logs / f"{name}.log"


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
