"""``./dataplat test`` lints (ruff, ruff format, mypy) before pytest, and a lint failure runs no test.

The script is sourced in a sandbox whose ``.venv/bin`` tools are fakes that record their arguments;
the install steps are stubbed out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "dataplat"
FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $*" in
  "$FAIL"*) echo "$(basename "$0") found a problem"; exit 1 ;;
esac
"""


def run_test_command(
    tmp_path: Path, *args: str, fail: str = "nothing"
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("ruff", "mypy", "python", "dataplat"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls"
    body = (
        f'set -euo pipefail; source "{SCRIPT}"; '
        "need_system_packages() { :; }; ensure_python_env() { :; }; "
        f'cd "{tmp_path}"; main test "$@"'
    )
    result = subprocess.run(
        ["bash", "-c", body, "bash", *args],
        env={"PATH": "/usr/bin:/bin", "CALLS": str(calls), "FAIL": fail},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return result, [line.strip() for line in calls.read_text().splitlines()] if calls.exists() else []


def test_lint_runs_before_pytest_and_args_go_to_pytest(tmp_path: Path) -> None:
    result, calls = run_test_command(tmp_path, "-k", "ingest", "-q")
    assert result.returncode == 0, result.stderr
    assert calls == [
        "dataplat install",
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "python -m pytest -k ingest -q",
    ]


def test_a_lint_failure_fails_before_pytest_and_says_which(tmp_path: Path) -> None:
    result, calls = run_test_command(tmp_path, fail="ruff check")
    assert result.returncode == 1
    assert not any(call.startswith("python") for call in calls)
    assert "mypy" in calls  # every check runs, so one pass shows every problem
    assert "lint failed: ruff check" in result.stderr
    assert "no tests were run" in result.stderr


def test_a_type_error_fails_too(tmp_path: Path) -> None:
    result, calls = run_test_command(tmp_path, fail="mypy")
    assert result.returncode == 1
    assert "lint failed: mypy" in result.stderr
    assert calls[-1] == "mypy"
