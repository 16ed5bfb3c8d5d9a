"""Generated credentials: created at first start, kept in one 0600 file, never defaulted."""

from __future__ import annotations

import os
import secrets as _random
from pathlib import Path


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def get_secret(path: Path, name: str, *, length: int = 24) -> str:
    """The secret ``name`` from ``path``, generated and appended on first use (file mode 0600)."""
    values = _read(path)
    if name in values:
        return values[name]
    value = _random.token_urlsafe(length)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(f"{name}={value}\n")
    os.chmod(path, 0o600)
    return value
