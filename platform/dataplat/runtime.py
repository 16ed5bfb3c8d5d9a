"""The stack: render configs, start services in dependency order until healthy, stop, report."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dataplat import graph
from dataplat.errors import PortInUse, ServiceFailedToStart, UnknownService
from dataplat.memory import tree_pss_bytes
from dataplat.paths import Paths, find_java17, find_java_modern, paths_for
from dataplat.ports import port_free, port_owner
from dataplat.render import render_config
from dataplat.secrets import get_secret
from dataplat.services import all_specs
from dataplat.settings import Settings
from dataplat.spec import Condition, Context, Kind, Readiness, ServiceSpec
from dataplat.supervisor_client import ProcessInfo, Supervisor
from dataplat.supervisor_conf import DAEMON_EXIT_CODES, supervisord_conf
from dataplat.upgrade import check_data_dir

Observer = Callable[[str, str, str], None]  # (service, phase, detail)
LOG_TAIL_LINES = 25
FAILED_STATES = {"FATAL", "BACKOFF", "EXITED", "STOPPED", "UNKNOWN"}
POLL_S = 0.5


def build_context(settings: Settings) -> Context:
    paths = paths_for(settings)
    try:
        from dataplat.paths import pyspark_home

        spark_home: Path | None = pyspark_home()
    except ModuleNotFoundError:
        spark_home = None
    return Context(
        settings=settings,
        paths=paths,
        java17=find_java17(settings),
        java_modern=find_java_modern(settings),
        python_bin=Path(sys.executable),
        spark_home=spark_home,
    )


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - 64 * 1024))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class ReadyTime:
    """When a service started and became ready, in seconds since its bring-up began."""

    name: str
    started_s: float
    ready_s: float

    @property
    def took_s(self) -> float:
        """Time to ready from the service's own start."""
        return self.ready_s - self.started_s


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    kind: Kind
    state: str
    pid: int
    readiness: Readiness
    pss_bytes: int
    url: str
    log: Path


class Stack:
    """All services of this configuration, driven through one supervisord."""

    def __init__(
        self, settings: Settings, observer: Observer | None = None, specs: list[ServiceSpec] | None = None
    ) -> None:
        self.ctx = build_context(settings)
        self.paths: Paths = self.ctx.paths
        self.supervisor = Supervisor(self.paths)
        self.observe: Observer = observer or (lambda *_: None)
        specs = all_specs(self.ctx) if specs is None else specs
        if settings.services is not None:
            by_name = {spec.name: spec for spec in specs}
            keep = graph.closure(by_name, self._known(settings.services, by_name))
            specs = [spec for spec in specs if spec.name in keep]
        self.specs: dict[str, ServiceSpec] = {spec.name: spec for spec in specs}
        self.order = graph.topological_order(self.specs)
        self.ready_times: list[ReadyTime] = []  # of the last ``up``, in the order services got ready

    @staticmethod
    def _known(names: Iterable[str], specs: dict[str, ServiceSpec]) -> list[str]:
        found = []
        for name in names:
            if name not in specs:
                raise UnknownService(name, sorted(specs))
            found.append(name)
        return found

    # -- configuration -------------------------------------------------------------------
    def secret(self, name: str) -> str:
        return get_secret(self.paths.secrets_file, name)

    def render(self) -> None:
        """Write every service's config and supervisord.conf (unchanged files are left alone)."""
        self.paths.ensure()
        done: set[object] = set()
        for spec in self.specs.values():
            if spec.cwd is not None:
                spec.cwd.mkdir(parents=True, exist_ok=True)
            for config in spec.configs:
                render_config(config, self.ctx, secret=self.secret)
            for write in spec.setup:
                if write not in done:
                    done.add(write)
                    write(self.ctx)
        conf = self.supervisor.conf_file
        text = supervisord_conf(self.specs.values(), self.paths)
        if not conf.exists() or conf.read_text() != text:
            conf.write_text(text)
        conf.chmod(0o600)  # it holds the services' environments, secrets included

    # -- bring-up ------------------------------------------------------------------------
    def up(self, names: Iterable[str] | None = None) -> None:
        """Start ``names`` (default: all) and their dependencies; return once all are healthy.

        Services that were started are timed into :attr:`ready_times`; other running services whose
        config changed keep their previous config until they are next started (``restart``).
        """
        begin = time.monotonic()
        wanted = graph.closure(self.specs, self._known(names, self.specs) if names else self.specs)
        check_data_dir(self.paths)  # an earlier layout (SQLite/Derby) stops here, untouched
        self.render()
        for name in self.supervisor.ensure_started(replace=wanted):
            self.observe(name, "kept", f"config changed; the new one applies at `dataplat restart {name}`")
        done: set[str] = set()
        started: dict[str, float] = {}
        untimed: set[str] = set()  # skipped oneshots and daemons that were already running
        self.ready_times = []
        pending = [name for name in self.order if name in wanted]
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(done) < len(pending):
                for name in pending:
                    if name not in started and self._deps_met(name, done):
                        launched = self._launch(name)
                        if launched == "skipped":
                            done.add(name)
                        elif launched == "running":
                            untimed.add(name)
                        started[name] = time.monotonic()
                probing = [name for name in started if name not in done]
                results = dict(zip(probing, pool.map(self._check, probing), strict=True))
                now = time.monotonic()
                for name, (result, info) in results.items():
                    if result.ok:
                        done.add(name)
                        if name in untimed:
                            self.observe(name, "ready", f"already running: {result.reason}")
                            continue
                        timing = ReadyTime(name, started[name] - begin, now - begin)
                        self.ready_times.append(timing)
                        took = f"in {timing.took_s:.1f} s (at {timing.ready_s:.1f} s)"
                        self.observe(name, "ready", f"{took}: {result.reason}")
                    else:
                        self._fail_if_stuck(name, result, info, started[name])
                        self.observe(name, "waiting", result.reason)
                if len(done) < len(pending):
                    time.sleep(POLL_S)

    def _deps_met(self, name: str, done: set[str]) -> bool:
        return all(dep in done or dep not in self.specs for dep in self.specs[name].depends_on)

    def _launch(self, name: str) -> Literal["skipped", "running", "started"]:
        """Start one service: ``skipped`` (oneshot already done), ``running`` (already) or ``started``."""
        spec = self.specs[name]
        if spec.kind is Kind.ONESHOT and spec.creates is not None and spec.creates.exists():
            self.observe(name, "ready", f"skipped: {spec.creates.name} exists")
            return "skipped"
        info = self.supervisor.info(name)
        if spec.kind is Kind.DAEMON and info.state in {"RUNNING", "STARTING"}:
            self.observe(name, "waiting", f"already running (pid {info.pid})")
            return "running"
        for port_name, port in spec.ports.items():
            if not port_free(self.ctx.settings.bind_host, port):
                raise PortInUse(f"{name} ({port_name})", port, port_owner(port))
        self.observe(name, "starting", " ".join(spec.argv)[:200])
        self.supervisor.start(name)
        return "started"

    def _check(self, name: str) -> tuple[Readiness, ProcessInfo]:
        """Readiness and the process state it was judged on (one supervisor call per poll)."""
        spec = self.specs[name]
        info = self.supervisor.info(name)
        if spec.kind is Kind.ONESHOT:
            if info.state == "EXITED" and info.exit_status == 0:
                return Readiness.ready("completed"), info
            if info.state in {"EXITED", "FATAL", "BACKOFF"}:
                return Readiness.waiting(f"exited with status {info.exit_status}"), info
            return Readiness.waiting(info.state.lower()), info
        if info.state not in {"RUNNING", "STARTING"}:
            return Readiness.waiting(f"process {info.state.lower()}: {info.description}"), info
        assert spec.probe is not None, f"daemon {name} has no readiness probe"
        return spec.probe(), info

    def _fail_if_stuck(self, name: str, result: Readiness, info: ProcessInfo, since: float) -> None:
        """Judged on the same ``info`` as ``result``, so a oneshot finishing meanwhile is no failure.

        A daemon that died unexpectedly (e.g. SIGKILL) is EXITED only until supervisord restarts it
        (autorestart=unexpected): that is waited for; FATAL or an expected exit is final.
        """
        spec = self.specs[name]
        timeout = spec.start_timeout_s or self.ctx.settings.ready_timeout_s
        if spec.kind is Kind.ONESHOT:
            exited = info.state in {"FATAL", "EXITED", "BACKOFF"}
        else:
            expected = info.exit_status in DAEMON_EXIT_CODES
            exited = info.state == "FATAL" or (info.state == "EXITED" and expected)
        if exited or time.monotonic() - since > timeout:
            reason = result.reason if not exited else f"{info.state.lower()}: {result.reason}"
            if not exited:
                reason = f"not ready after {timeout:.0f} s: {reason}"
            raise ServiceFailedToStart(name, reason, log_tail(self.supervisor.log_file(name)), spec.hint)

    # -- stop ----------------------------------------------------------------------------
    def down(self, names: Iterable[str] | None = None) -> None:
        """Stop ``names`` and their dependents (default: everything), dependents first."""
        if not self.supervisor.running():
            return
        targets = graph.dependents(self.specs, self._known(names, self.specs)) if names else set(self.specs)
        for name in reversed(self.order):
            if name in targets and self.specs[name].kind is Kind.DAEMON:
                self.observe(name, "stopping", "")
                self.supervisor.stop(name)
                self.observe(name, "stopped", "")
        if not names:
            self.supervisor.shutdown()

    def restart(self, name: str) -> dict[str, str]:
        """Stop ``name`` and its dependents (transitively), then start them all again.

        Returns the daemons running before that are not running now, with their state (empty when
        everything came back). A failed start raises; :meth:`not_running` then tells what is down.
        """
        targets = graph.dependents(self.specs, self._known([name], self.specs))
        before = set(self.specs) - set(self.not_running(self.specs))
        self.down([name])
        self.up(sorted(targets))
        return self.not_running(before | targets)

    def not_running(self, names: Iterable[str]) -> dict[str, str]:
        """Daemons among ``names`` that are neither running nor starting, with their state."""
        infos = self.supervisor.all_info()
        left = {}
        for name in names:
            info = infos.get(name)
            if self.specs[name].kind is not Kind.DAEMON:
                continue
            if info is None:
                left[name] = "not started"
            elif info.state not in {"RUNNING", "STARTING"}:
                left[name] = f"{info.state.lower()} {info.description}".strip()
        return dict(sorted(left.items()))

    def reset(self) -> None:
        """Stop everything and delete all state but the download cache."""
        self.down()
        for folder in (self.paths.data, self.paths.logs, self.paths.run, self.paths.conf):
            shutil.rmtree(folder, ignore_errors=True)
        self.paths.secrets_file.unlink(missing_ok=True)

    # -- report --------------------------------------------------------------------------
    def status(self) -> list[ServiceStatus]:
        infos = self.supervisor.all_info()
        missing = ProcessInfo("", "NOT STARTED", 0, 0, "")

        def one(name: str) -> ServiceStatus:
            spec, info = self.specs[name], infos.get(name, missing)
            if spec.kind is Kind.ONESHOT:
                done = (spec.creates is not None and spec.creates.exists()) or (
                    info.state == "EXITED" and info.exit_status == 0
                )
                readiness = Readiness(done, "completed" if done else info.state.lower())
            elif info.state in {"RUNNING", "STARTING"} and spec.probe is not None:
                readiness = spec.probe()
            else:
                readiness = Readiness.waiting(info.state.lower())
            pss = tree_pss_bytes(info.pid) if info.pid else 0
            return ServiceStatus(
                name,
                spec.kind,
                info.state,
                info.pid,
                readiness,
                pss,
                spec.url,
                self.supervisor.log_file(name),
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, self.order))


__all__ = ["Condition", "ReadyTime", "ServiceStatus", "Stack", "build_context", "log_tail"]
