"""``./dataplat`` (the fresh-machine entry point) finds uv before installing it, and installs it once.

The script is sourced (it runs nothing then) in a sandbox: a throwaway HOME, a PATH without uv, and a
fake ``python3`` whose ``pip install`` only records the call and drops a fake uv into the user base.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "dataplat"
FAKE_PYTHON = """#!/bin/sh
case "$*" in
  "-m site --user-base") echo "$FAKE_USER_BASE" ;;
  "-m pip install"*)
    echo "$*" >> "$PIP_CALLS"
    mkdir -p "$FAKE_USER_BASE/bin" && cp "$FAKE_UV" "$FAKE_USER_BASE/bin/uv" ;;
  *) exit 2 ;;
esac
"""


def sandbox(tmp_path: Path) -> dict[str, str]:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").write_text(FAKE_PYTHON)
    (tools / "python3").chmod(0o755)
    fake_uv = tmp_path / "fake-uv"
    fake_uv.write_text("#!/bin/sh\necho fake uv\n")
    fake_uv.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "PATH": f"{tools}:/usr/bin:/bin",
        "FAKE_USER_BASE": str(tmp_path / "userbase"),
        "FAKE_UV": str(fake_uv),
        "PIP_CALLS": str(tmp_path / "pip-calls"),
    }


def run(env: dict[str, str], body: str) -> str:
    """Source the script and run ``body`` in the same shell; returns stdout."""
    result = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{SCRIPT}"; {body}'],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout


def test_sourcing_runs_nothing(tmp_path: Path) -> None:
    assert run(sandbox(tmp_path), "type -t find_uv ensure_uv main") == "function\nfunction\nfunction\n"


def test_uv_in_local_bin_is_found_and_put_on_path(tmp_path: Path) -> None:
    env = sandbox(tmp_path)
    local_bin = Path(env["HOME"]) / ".local" / "bin"
    local_bin.mkdir(parents=True)
    (local_bin / "uv").symlink_to(env["FAKE_UV"])
    assert run(env, "find_uv").strip() == f"{local_bin}/uv"
    assert run(env, "ensure_uv; command -v uv").strip() == f"{local_bin}/uv"
    assert not Path(env["PIP_CALLS"]).exists()  # nothing installed


def test_uv_in_the_python_user_base_is_found(tmp_path: Path) -> None:
    env = sandbox(tmp_path)
    user_bin = Path(env["FAKE_USER_BASE"]) / "bin"
    user_bin.mkdir(parents=True)
    (user_bin / "uv").symlink_to(env["FAKE_UV"])
    assert run(env, "ensure_uv; uv").strip() == "fake uv"
    assert not Path(env["PIP_CALLS"]).exists()


def test_uv_is_installed_once(tmp_path: Path) -> None:
    env = sandbox(tmp_path)
    assert run(env, "find_uv || echo missing").strip() == "missing"
    for _ in range(3):  # every ./dataplat call runs in a fresh shell whose PATH lacks the user base
        assert run(env, "ensure_uv >/dev/null; uv").strip() == "fake uv"
    calls = Path(env["PIP_CALLS"]).read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("-m pip install --user") and calls[0].endswith(" uv")


def test_sync_keeps_the_lock_and_shows_progress(tmp_path: Path) -> None:
    env = sandbox(tmp_path)
    Path(env["FAKE_UV"]).write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/uv-calls\n')
    out = run(env, f"cd {tmp_path} && ensure_python_env")
    assert "builds pyspark and krb5" in out  # said before the long, fresh-machine sync
    assert (tmp_path / "uv-calls").read_text() == "sync --frozen\n"  # the lock as is; no --quiet
