"""SQLPad 3.1.0: the browser SQL editor over Trino, and its one-time setup step.

``node dist/sqlpad/node_modules/sqlpad/server.js`` (installed by :mod:`dataplat.sqlpad_install`),
configured only through ``SQLPAD_*`` variables; cookie secret and passphrase are generated secrets,
state (NeDB files) lives in ``data/sqlpad``. Ready when ``/api/app`` answers as 3.1.0 with admin
registration closed. The oneshot ``sqlpad-setup`` (:mod:`dataplat.setup.sqlpad`) gives the admin
its generated password, creates the Trino connections and saves the starter queries; it leaves a
stamp so it runs once.

SQLPad 3.1.0 stores ``SQLPAD_ADMIN_PASSWORD`` as ``{}`` (it saves an un-awaited promise), which makes
sign-in fail and wipes the hash at every start, so it is never set: ``SQLPAD_ADMIN`` only whitelists
the admin, and setup completes that admin's sign-up with the generated password.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from dataplat.paths import Paths
from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.settings import Settings
from dataplat.spec import Condition, Context, Kind, Probe, ServiceSpec
from dataplat.sqlpad_install import server_js

VERSION = "3.1.0"
ADMIN_EMAIL = "admin@dataplat.local"
SECRETS = ("SQLPAD_COOKIE_SECRET", "SQLPAD_PASSPHRASE")
PASSWORD_SECRET = "SQLPAD_ADMIN_PASSWORD"  # noqa: S105 - the name of a generated secret
SETUP_STAMP = "setup.done"
MAX_ROWS = 50_000


def base_url(s: Settings) -> str:
    return f"http://{s.bind_host}:{s.ports.sqlpad}"


def setup_stamp(paths: Paths) -> Path:
    """Written by ``sqlpad-setup`` once it has configured everything (then it is not run again)."""
    return paths.data / "sqlpad" / SETUP_STAMP


def sqlpad_env(s: Settings, paths: Paths, secrets: dict[str, str]) -> dict[str, str]:
    """SQLPad's whole configuration (pure)."""
    return {
        "SQLPAD_DB_PATH": str(paths.data / "sqlpad"),
        "SQLPAD_IP": s.bind_host,
        "SQLPAD_PORT": str(s.ports.sqlpad),
        "SQLPAD_ADMIN": ADMIN_EMAIL,  # whitelisted admin; its password is set by sqlpad-setup
        "SQLPAD_COOKIE_SECRET": secrets["SQLPAD_COOKIE_SECRET"],
        "SQLPAD_PASSPHRASE": secrets["SQLPAD_PASSPHRASE"],  # encrypts stored connection users
        "SQLPAD_QUERY_RESULT_MAX_ROWS": str(MAX_ROWS),
        "NODE_ENV": "production",
    }


def app_probe(url: str) -> Probe:
    """Ready when ``/api/app`` is SQLPad 3.1.0 with its admin created (sign-up closed)."""

    def check(body: Any) -> str | None:
        if body["version"] != VERSION:
            return f"{url} is SQLPad {body['version']}, expected {VERSION}"
        return "admin user not created yet" if body["adminRegistrationOpen"] else None

    return http_probe(f"{url}/api/app", check=check)


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    secrets = {name: get_secret(paths.secrets_file, name) for name in (*SECRETS, PASSWORD_SECRET)}
    data = paths.data / "sqlpad"
    node = shutil.which("node") or "node"
    url = base_url(s)
    setup_deps = {"sqlpad": Condition.HEALTHY}
    if not s.external.trino_url:
        setup_deps["trino"] = Condition.HEALTHY
    return [
        ServiceSpec(
            name="sqlpad",
            argv=(node, str(server_js(paths))),
            probe=app_probe(url),
            env=sqlpad_env(s, paths, secrets),
            cwd=data,
            ports={"http": s.ports.sqlpad},
            hint=f"see {ctx.log_file('sqlpad')}; needs Node 20 and `dataplat install` ({server_js(paths)})",
            url=url,
        ),
        ServiceSpec(
            name="sqlpad-setup",
            argv=(str(ctx.python_bin), "-m", "dataplat.setup.sqlpad"),
            kind=Kind.ONESHOT,
            env={"PYTHONUNBUFFERED": "1"},
            depends_on=setup_deps,
            creates=setup_stamp(paths),
            hint=f"see {ctx.log_file('sqlpad-setup')}; sign in as {ADMIN_EMAIL} (password {PASSWORD_SECRET})",
        ),
    ]
