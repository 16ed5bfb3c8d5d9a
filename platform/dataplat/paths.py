"""Where the runtime keeps its state: one data directory, one folder per concern."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from dataplat.settings import REPO_ROOT, Settings

JAVA17_CANDIDATES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-17-jdk-amd64")
JAVA_MODERN_GLOB = ("temurin-2[4-9]-jdk*", "temurin-[3-9][0-9]-jdk*", "java-2[4-9]-openjdk*")


@dataclass(frozen=True)
class Paths:
    """Folders under the data directory (``Settings.home``)."""

    home: Path
    cache: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def conf(self) -> Path:
        return self.home / "conf"

    @property
    def dist(self) -> Path:
        """Installed service distributions (jars, tarballs unpacked by Maven)."""
        return self.home / "dist"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.env"

    def ensure(self) -> None:
        for folder in (self.data, self.logs, self.run, self.conf, self.dist, self.cache):
            folder.mkdir(parents=True, exist_ok=True)


def paths_for(settings: Settings) -> Paths:
    cache = settings.cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dataplat"
    return Paths(home=settings.home.resolve(), cache=cache.resolve())


def find_java17(settings: Settings) -> Path:
    """JAVA_HOME of a Java 17 JDK (Hadoop, Kafka, Hive Metastore, Spark, registry)."""
    if settings.java17_home:
        return settings.java17_home
    for candidate in JAVA17_CANDIDATES:
        if Path(candidate, "bin", "java").exists():
            return Path(candidate)
    raise FileNotFoundError("no Java 17 JDK found; install openjdk-17-jdk or set DATAPLAT_JAVA17_HOME")


def find_java_modern(settings: Settings) -> Path:
    """JAVA_HOME of a Java 24+ JDK (Trino 476 refuses older ones)."""
    if settings.java_modern_home:
        return settings.java_modern_home
    for pattern in JAVA_MODERN_GLOB:
        for candidate in sorted(Path("/usr/lib/jvm").glob(pattern), reverse=True):
            if (candidate / "bin" / "java").exists():
                return candidate
    raise FileNotFoundError("no Java 24+ JDK found (Trino needs one); set DATAPLAT_JAVA_MODERN_HOME")


def venv_bin() -> Path:
    """The bin folder of the Python environment the runtime runs in."""
    return Path(sys.executable).parent


def pyspark_home() -> Path:
    """SPARK_HOME: the installed pyspark package (it carries spark-submit and the jars)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("pyspark is not installed in this environment; run `dataplat install`")
    return Path(spec.origin).parent


def which(program: str) -> str | None:
    return shutil.which(program, path=f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}")


__all__ = ["REPO_ROOT", "Paths", "find_java17", "find_java_modern", "paths_for", "pyspark_home", "venv_bin"]
