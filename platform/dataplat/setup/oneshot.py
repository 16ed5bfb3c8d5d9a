"""The shape every REST setup step shares (``sqlpad-setup``, ``superset-setup``).

Read the settings and the service admin's generated password, configure the service through its
API (matching everything by name, so a rerun updates instead of duplicating), print what was made,
and leave the stamp that the spec's ``creates`` checks, but only once nothing is pending: until
then every ``dataplat up`` runs the step again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dataplat.paths import Paths, paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings, get_settings


@dataclass(frozen=True)
class Result:
    """What a step made (name -> id), why it is not finished yet, and its closing line."""

    made: Mapping[str, object] = field(default_factory=dict)
    pending: str = ""  # non-empty: no stamp, the next `dataplat up` runs the step again
    done: str = ""


Configure = Callable[[httpx.Client, str, Settings], Result]


@dataclass(frozen=True)
class SetupStep:
    """One oneshot: which service, whose password, where the stamp goes, what to configure."""

    tool: str  # prefix of every printed line
    password_secret: str  # the admin password's name in the secrets file
    base_url: Callable[[Settings], str]
    stamp: Callable[[Paths], Path]
    configure: Configure  # (client on base_url, password, settings) -> Result
    timeout_s: float = 30.0


def run(
    step: SetupStep, settings: Settings | None = None, transport: httpx.BaseTransport | None = None
) -> int:
    """Configure the service, report, stamp when complete; 0 also while something is pending."""
    s = settings or get_settings()
    paths = paths_for(s)
    password = get_secret(paths.secrets_file, step.password_secret)
    with httpx.Client(base_url=step.base_url(s), timeout=step.timeout_s, transport=transport) as client:
        result = step.configure(client, password, s)
    for name, ident in result.made.items():
        print(f"{step.tool}: {name} -> {ident}")
    if result.pending:
        print(f"{step.tool}: {result.pending}; the next `dataplat up` completes it")
        return 0
    stamp = step.stamp(paths)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("".join(f"{name}\n" for name in result.made))
    if result.done:
        print(f"{step.tool}: {result.done}")
    return 0


def main(step: SetupStep) -> None:
    """``python -m dataplat.setup.<tool>``: files it writes are private to the user."""
    os.umask(0o077)
    sys.exit(run(step))
