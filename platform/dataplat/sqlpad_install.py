"""SQLPad under ``dist/sqlpad``: ``npm ci`` of the committed lock in ``platform/sqlpad``.

A stamp with the lock's hash makes reinstalling a no-op until the lock changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from dataplat.errors import DataplatError
from dataplat.paths import Paths
from dataplat.settings import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "platform" / "sqlpad"  # package.json + package-lock.json (pinned)
PACKAGE_FILES = ("package.json", "package-lock.json")
STAMP = ".installed-from"


def dist_dir(paths: Paths) -> Path:
    return paths.dist / "sqlpad"


def server_js(paths: Paths) -> Path:
    return dist_dir(paths) / "node_modules" / "sqlpad" / "server.js"


def _lock_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


def sqlpad_installed(paths: Paths) -> bool:
    stamp = dist_dir(paths) / STAMP
    return server_js(paths).exists() and stamp.exists() and stamp.read_text() == _lock_fingerprint()


def install_argv(paths: Paths, npm: str = "npm") -> list[str]:
    """``npm ci`` of the committed lock into ``dist/sqlpad`` (no audit, no dev dependencies)."""
    return [
        npm, "ci",
        "--prefix", str(dist_dir(paths)),
        "--omit=dev", "--no-audit", "--no-fund",
        "--cache", str(paths.cache / "npm"),
    ]  # fmt: skip


def install_sqlpad(paths: Paths, *, force: bool = False) -> bool:
    """Install SQLPad from the pinned lock (a no-op when the lock did not change); True if installed."""
    if sqlpad_installed(paths) and not force:
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise DataplatError("npm not found: install Node.js 20 (Debian: apt-get install nodejs npm)")
    target = dist_dir(paths)
    target.mkdir(parents=True, exist_ok=True)
    for name in PACKAGE_FILES:
        shutil.copyfile(PACKAGE_DIR / name, target / name)
    result = subprocess.run(install_argv(paths, npm), check=False)
    if result.returncode != 0:
        raise DataplatError(f"npm could not install SQLPad; rerun `{' '.join(install_argv(paths))}`")
    (target / STAMP).write_text(_lock_fingerprint())
    return True
