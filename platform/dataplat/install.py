"""Install what the stack runs: JVM distributions through Maven (and the SQL editor through npm)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from dataplat.errors import DataplatError
from dataplat.paths import Paths, pyspark_home
from dataplat.settings import REPO_ROOT

JVM_POM = REPO_ROOT / "platform" / "jvm" / "pom.xml"
# Central only: other repositories (named by dependencies' POMs) are blocked, see the file's header
MAVEN_SETTINGS = JVM_POM.parent / "settings.xml"
STAMP = ".installed-from"


def _pom_fingerprint() -> str:
    import hashlib

    digest = hashlib.sha256()
    sources = [*JVM_POM.parent.rglob("pom.xml"), *JVM_POM.parent.rglob("src/**/*.java")]
    for source in sorted(path for path in sources if "target" not in path.parts):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def jvm_installed(paths: Paths) -> bool:
    stamp = paths.dist / STAMP
    return stamp.exists() and stamp.read_text() == _pom_fingerprint()


def install_jvm(paths: Paths, *, force: bool = False, java_home: Path | None = None) -> bool:
    """Run the Maven aggregator into ``dist/`` (a no-op when the poms and sources did not change)."""
    if jvm_installed(paths) and not force:
        return False
    paths.ensure()
    argv = [
        "mvn",
        "-B",
        "-q",
        # as the global settings: a developer's ~/.m2/settings.xml (a company mirror, a proxy) still applies
        "-gs",
        str(MAVEN_SETTINGS),
        "-f",
        str(JVM_POM),
        f"-Ddist.root={paths.dist}",
        f"-Dmaven.repo.local={paths.cache / 'm2'}",
        # the metastore launcher compiles against the Hive jars it runs with
        f"-Dpyspark.jars={pyspark_home() / 'jars'}",
        "package",
    ]
    env = None
    if java_home is not None:
        import os

        env = {**os.environ, "JAVA_HOME": str(java_home)}
    result = subprocess.run(argv, env=env, check=False)
    if result.returncode != 0:
        raise DataplatError(
            "Maven could not install the JVM services; rerun without -q to see the full error: "
            f"`{' '.join(arg for arg in argv if arg != '-q')}` "
            "(network to Maven Central is needed on first install)"
        )
    (paths.dist / STAMP).write_text(_pom_fingerprint())
    return True


def installed(paths: Paths) -> bool:
    """Everything the native stack runs is installed and matches the committed locks."""
    from dataplat.sqlpad_install import sqlpad_installed
    from dataplat.superset_install import superset_installed

    return jvm_installed(paths) and sqlpad_installed(paths) and superset_installed(paths)


def install_all(paths: Paths, *, force: bool = False, java_home: Path | None = None) -> list[str]:
    """JVM services (Maven), SQLPad (npm) and Superset (its own venv); returns what was (re)installed."""
    from dataplat.sqlpad_install import install_sqlpad
    from dataplat.superset_install import install_superset

    steps: dict[str, Callable[[], bool]] = {
        "JVM services": lambda: install_jvm(paths, force=force, java_home=java_home),
        "SQLPad": lambda: install_sqlpad(paths, force=force),
        "Superset": lambda: install_superset(paths, force=force),
    }
    return [name for name, step in steps.items() if step()]
