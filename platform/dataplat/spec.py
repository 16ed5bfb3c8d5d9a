"""The declarative description of a service: what to run, when it is ready, what it needs."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dataplat.paths import Paths
from dataplat.settings import Settings


class Kind(enum.StrEnum):
    DAEMON = "daemon"  # long-running, restarted by the supervisor when it dies
    ONESHOT = "oneshot"  # setup step that must exit 0 (format storage, migrate a database)


class Condition(enum.StrEnum):
    HEALTHY = "healthy"
    COMPLETED = "completed_successfully"


@dataclass(frozen=True)
class Readiness:
    """Outcome of a probe: ready or not, and why (shown by ``status`` and ``up``)."""

    ok: bool
    reason: str = ""

    @classmethod
    def ready(cls, reason: str = "ready") -> Readiness:
        return cls(True, reason)

    @classmethod
    def waiting(cls, reason: str) -> Readiness:
        return cls(False, reason)


Probe = Callable[[], Readiness]


@dataclass(frozen=True)
class ConfigFile:
    """A template of :mod:`dataplat.render` rendered to ``target`` before the service starts."""

    template: str
    target: Path
    mode: int = 0o644


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the stack, supervised by supervisord."""

    name: str
    argv: tuple[str, ...]
    probe: Probe | None = None  # daemons: readiness; None only for oneshots
    kind: Kind = Kind.DAEMON
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    depends_on: Mapping[str, Condition] = field(default_factory=dict)
    configs: tuple[ConfigFile, ...] = ()
    # writers of generated files beyond ``configs`` (run by ``Stack.render``, each function once)
    setup: tuple[Callable[[Context], object], ...] = ()
    creates: Path | None = None  # oneshot is skipped when this path exists (run once)
    group: str | None = None  # services of a group start/stop together (e.g. "hdfs")
    stop_timeout_s: int = 20
    start_timeout_s: float | None = None  # overrides Settings.ready_timeout_s
    hint: str = ""  # what to check when it fails to start
    url: str = ""  # shown by ``status``


@dataclass(frozen=True)
class Context:
    """Everything a service module needs to describe its processes."""

    settings: Settings
    paths: Paths
    java17: Path
    java_modern: Path
    python_bin: Path
    spark_home: Path | None

    def java(self, modern: bool = False) -> str:
        home = self.java_modern if modern else self.java17
        return str(home / "bin" / "java")

    def log_file(self, service: str) -> Path:
        return self.paths.logs / f"{service}.log"
