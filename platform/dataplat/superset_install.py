"""Superset's own virtualenv under ``dist/superset-venv`` (its pins clash with Airflow's).

Created with ``uv`` from the committed lock ``platform/superset/requirements.lock``; a stamp with
the lock's hash makes reinstalling a no-op until the lock changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from dataplat.errors import DataplatError
from dataplat.paths import Paths
from dataplat.settings import REPO_ROOT

LOCK = REPO_ROOT / "platform" / "superset" / "requirements.lock"
STAMP = ".installed-from"


def venv_dir(paths: Paths) -> Path:
    return paths.dist / "superset-venv"


def superset_bin(paths: Paths) -> Path:
    return venv_dir(paths) / "bin" / "superset"


def _fingerprint() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def superset_installed(paths: Paths) -> bool:
    stamp = venv_dir(paths) / STAMP
    return superset_bin(paths).exists() and stamp.exists() and stamp.read_text() == _fingerprint()


def install_commands(paths: Paths, uv: str = "uv", python: str = sys.executable) -> list[list[str]]:
    """``uv venv`` + ``uv pip sync`` of the lock (exactly the locked set, nothing else)."""
    venv, cache = venv_dir(paths), paths.cache / "uv"
    return [
        [uv, "venv", "--quiet", "--allow-existing", "--python", python, str(venv)],
        [uv, "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"),
         "--cache-dir", str(cache), str(LOCK)],
    ]  # fmt: skip


def install_superset(paths: Paths, *, force: bool = False) -> bool:
    """Install Superset into its venv (a no-op when the lock did not change); True if installed."""
    if superset_installed(paths) and not force:
        return False
    uv = shutil.which("uv")
    if uv is None:
        raise DataplatError("uv not found: install it (pip install uv) to install Superset")
    paths.dist.mkdir(parents=True, exist_ok=True)
    for argv in install_commands(paths, uv):
        if subprocess.run(argv, check=False).returncode != 0:
            raise DataplatError(f"installing Superset failed; rerun `{' '.join(argv)}` to see why")
    (venv_dir(paths) / STAMP).write_text(_fingerprint())
    return True
