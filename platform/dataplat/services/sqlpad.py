"""SQLPad 3.1.0: the browser SQL editor over Trino, plus its one-time setup.

``node dist/sqlpad/node_modules/sqlpad/server.js`` (npm-installed by :func:`install`), configured
only through ``SQLPAD_*`` variables; cookie secret and passphrase are generated secrets, state (NeDB
files) lives in ``data/sqlpad``. Ready when ``/api/app`` answers as 3.1.0 with admin registration
closed. The oneshot ``sqlpad-setup`` (``python -m dataplat.services.sqlpad``) gives the admin its
generated password, creates the Trino connections and saves the starter queries; it is idempotent
(matches by name) and leaves a stamp so it runs once.

SQLPad 3.1.0 stores ``SQLPAD_ADMIN_PASSWORD`` as ``{}`` (it saves an un-awaited promise), which makes
sign-in fail and wipes the hash at every start, so it is never set: ``SQLPAD_ADMIN`` only whitelists
the admin, and setup completes that admin's sign-up with the generated password.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from dataplat.errors import DataplatError
from dataplat.paths import Paths, paths_for
from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.settings import REPO_ROOT, Settings, get_settings
from dataplat.spec import Condition, Context, Kind, Probe, ServiceSpec

VERSION = "3.1.0"
ADMIN_EMAIL = "admin@dataplat.local"
PACKAGE_DIR = REPO_ROOT / "platform" / "sqlpad"  # package.json + package-lock.json (pinned)
PACKAGE_FILES = ("package.json", "package-lock.json")
SECRETS = ("SQLPAD_COOKIE_SECRET", "SQLPAD_PASSPHRASE")
PASSWORD_SECRET = "SQLPAD_ADMIN_PASSWORD"  # noqa: S105 - the name of a generated secret
STAMP = ".installed-from"
SETUP_STAMP = "setup.done"
MAX_ROWS = 50_000


@dataclass(frozen=True)
class SavedQuery:
    name: str
    connection: str
    sql: str
    tags: tuple[str, ...] = ()


def dist_dir(paths: Paths) -> Path:
    return paths.dist / "sqlpad"


def server_js(paths: Paths) -> Path:
    return dist_dir(paths) / "node_modules" / "sqlpad" / "server.js"


def base_url(s: Settings) -> str:
    return f"http://{s.bind_host}:{s.ports.sqlpad}"


# -- install -------------------------------------------------------------------------------------
def _lock_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


def installed(paths: Paths) -> bool:
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


def install(paths: Paths, *, force: bool = False) -> bool:
    """Install SQLPad from the pinned lock (a no-op when the lock did not change)."""
    if installed(paths) and not force:
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


# -- run -----------------------------------------------------------------------------------------
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


def connections(s: Settings) -> list[dict[str, str]]:
    """SQLPad connections (its ``presto`` driver, which Trino accepts with the Presto headers)."""
    trino = urlsplit(s.trino_url)
    common = {"driver": "presto", "host": trino.hostname or s.host, "port": str(trino.port or 8080)}
    return [
        {"name": "Trino lake (hive)", "username": "sqlpad", "prestoCatalog": "hive", **common},
        {"name": "Trino live clicks (kafka)", "username": "sqlpad", "prestoCatalog": "kafka",
         "prestoSchema": "default", **common},
    ]  # fmt: skip


def saved_queries(s: Settings) -> list[SavedQuery]:
    lake, live = (c["name"] for c in connections(s))
    topic = s.lake.click_topic
    return [
        SavedQuery("insights", lake, "SELECT *\nFROM hive.trusted.insights\nLIMIT 100", ("batch",)),
        SavedQuery(
            "grouped_insights", lake, "SELECT *\nFROM hive.trusted.grouped_insights\nLIMIT 100", ("batch",)
        ),
        SavedQuery(
            "clickstream counts",
            lake,
            "SELECT *\nFROM hive.clickstream.clickstream_counts\nLIMIT 100",
            ("streaming",),
        ),
        SavedQuery(
            "live clicks (kafka)",
            live,
            f'SELECT page, count(*) AS events, max(_timestamp) AS last_event\nFROM kafka.default."{topic}"\n'
            "GROUP BY page\nORDER BY events DESC",
            ("streaming",),
        ),
    ]


def sign_in(client: httpx.Client, password: str) -> None:
    """Sign in as the admin, completing its sign-up (setting the password) the first time."""
    credentials = {"email": ADMIN_EMAIL, "password": password}
    if client.post("/api/signin", json=credentials).status_code == httpx.codes.OK:
        return
    response = client.post("/api/signup", json={**credentials, "passwordConfirmation": password})
    if response.status_code != httpx.codes.OK:
        raise DataplatError(f"SQLPad refused the admin's sign-in and sign-up: {response.text[:200]}")


def setup(url: str, password: str, s: Settings) -> dict[str, str]:
    """Create or update the connections and saved queries by name; returns name -> id."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=30.0) as client:
        sign_in(client, password)
        existing = {
            c["name"]: c for c in client.get("/api/connections").raise_for_status().json()["connections"]
        }
        for connection in connections(s):
            if old := existing.get(connection["name"]):
                response = client.put(f"/api/connections/{old['_id']}", json=connection)
            else:
                response = client.post("/api/connections", json=connection)
            ids[connection["name"]] = response.raise_for_status().json()["connection"]["_id"]
        queries = {q["name"]: q for q in client.get("/api/queries").raise_for_status().json()["queries"]}
        for query in saved_queries(s):
            body = {
                "name": query.name,
                "connectionId": ids[query.connection],
                "queryText": query.sql,
                "tags": list(query.tags),
            }
            if old := queries.get(query.name):
                response = client.put(f"/api/queries/{old['_id']}", json=body)
            else:
                response = client.post("/api/queries", json=body)
            ids[query.name] = response.raise_for_status().json()["query"]["_id"]
    return ids


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
            argv=(str(ctx.python_bin), "-m", "dataplat.services.sqlpad"),
            kind=Kind.ONESHOT,
            env={"PYTHONUNBUFFERED": "1"},
            depends_on=setup_deps,
            creates=data / SETUP_STAMP,
            hint=f"see {ctx.log_file('sqlpad-setup')}; sign in as {ADMIN_EMAIL} (password {PASSWORD_SECRET})",
        ),
    ]


def main() -> int:
    """The ``sqlpad-setup`` oneshot: configure SQLPad through its API, then leave the stamp."""
    s = get_settings()
    paths = paths_for(s)
    ids = setup(base_url(s), get_secret(paths.secrets_file, PASSWORD_SECRET), s)
    for name, ident in ids.items():
        print(f"sqlpad: {name} -> {ident}")
    stamp = paths.data / "sqlpad" / SETUP_STAMP
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("\n".join(ids) + "\n")
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
