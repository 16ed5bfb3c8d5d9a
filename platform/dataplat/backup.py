"""``dataplat backup`` / ``dataplat restore``: the platform's metadata in one archive.

The archive (tar.gz, mode 0600) holds::

    manifest.json            format, time, versions, databases, every file's size and sha256
    secrets.env              the generated credentials (the databases' passwords among them)
    settings/dataplat.toml   the settings file, when the platform reads one
    postgres/<db>.dump       pg_dump -Fc of each platform database (airflow, metastore, superset)
    registry/registry.db     the schema registry's store (sqlite3's online backup)
    sqlpad/<name>.db         SQLPad 3.1.0's own files (users, connections, saved queries)

Backup runs with the stack up (each database dumped by its owner role, the password only in
``PGPASSWORD``). Restore goes into a stopped, reset stack: it puts the secrets back, starts PostgreSQL
alone (``postgres-setup`` makes the roles with the restored passwords), ``pg_restore --clean
--if-exists`` each database, puts back the registry's and SQLPad's files and stops; ``dataplat up``
then starts everything on the restored metadata. HDFS files and Kafka topics are not in the archive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dataplat.errors import DataplatError
from dataplat.paths import Paths, paths_for
from dataplat.services import postgres
from dataplat.settings import CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE, Settings
from dataplat.supervisor_client import Supervisor

FORMAT = 1
MANIFEST = "manifest.json"
SCOPE = "metadata only: HDFS files and Kafka topics are not in this archive"
# names an archive may hold (anything else is refused before extraction)
MEMBER = re.compile(
    r"^(manifest\.json|secrets\.env|settings/dataplat\.toml|registry/registry\.db"
    r"|postgres/[a-z][a-z0-9_]*\.dump|sqlpad/[A-Za-z0-9_.-]+\.db)$"
)
SQLPAD_SKIP = {"cache.db"}  # query results, rebuilt on demand

Step = Callable[[str], None]


@dataclass(frozen=True)
class Restored:
    """What a restore put back, for the closing report."""

    created_at: str
    databases: list[str]
    files: list[str]
    settings_note: str


def settings_file() -> Path:
    return Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


def default_archive(paths: Paths, now: dt.datetime | None = None) -> Path:
    """``<home>/backups/dataplat-<UTC time>.tar.gz`` (``dataplat reset`` keeps that folder)."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return paths.home / "backups" / f"dataplat-{stamp}.tar.gz"


def pg_env(s: Settings, paths: Paths, db: postgres.Database) -> dict[str, str]:
    """libpq's variables for ``db`` as its owner role (argv never carries the password)."""
    return {
        "PGHOST": s.postgres_host,
        "PGPORT": str(s.postgres_port),
        "PGUSER": db.role,
        "PGPASSWORD": postgres.password(paths, db),
        "PGDATABASE": db.name,
        "PGCONNECT_TIMEOUT": "10",
    }


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(argv[0]).name
        raise DataplatError(f"{tool} failed with status {done.returncode}: {done.stderr.strip()[-2000:]}")


def _server_version(env: dict[str, str]) -> str | None:
    """The server's version as ``env``'s role sees it, or None when its database does not exist."""
    import psycopg2

    try:
        connection = psycopg2.connect(
            host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"], password=env["PGPASSWORD"],
            dbname=env["PGDATABASE"], connect_timeout=10,
        )  # fmt: skip
    except psycopg2.OperationalError as error:
        if f'database "{env["PGDATABASE"]}" does not exist' in str(error):  # not a missing role
            return None
        raise DataplatError(
            f"PostgreSQL at {env['PGHOST']}:{env['PGPORT']} refused {env['PGUSER']}: {str(error).strip()}; "
            "is the stack up (`dataplat up postgres-setup`)?"
        ) from error
    with closing(connection):
        number = int(connection.server_version)
    return f"{number // 10000}.{number % 10000}"


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (sqlite3's online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    with closing(source_db) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tool_version(tool: Path) -> str:
    return subprocess.run(
        [str(tool), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()


def _dataplat_version() -> str:
    try:
        return version("dataplat")
    except PackageNotFoundError:
        return "unknown"


def write_archive(staging: Path, archive: Path, manifest: dict[str, Any]) -> None:
    """``staging``'s files plus ``manifest.json`` (with their sizes and sums) into a 0600 tar.gz."""
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    manifest["files"] = {
        str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    archive.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
        for path in [staging / MANIFEST, *files]:
            tar.add(path, arcname=str(path.relative_to(staging)), recursive=False)
    os.chmod(archive, 0o600)


def collect(settings: Settings, staging: Path, step: Step) -> dict[str, Any]:
    """Dump and copy everything into ``staging``; returns the manifest (without ``files``)."""
    paths = paths_for(settings)
    dumped, server = [], None
    for db in postgres.DATABASES:
        step(f"dumping database {db.name}")
        env = pg_env(settings, paths, db)
        found = _server_version(env)
        if found is None:
            continue
        server = found
        target = staging / "postgres" / f"{db.name}.dump"
        target.parent.mkdir(parents=True, exist_ok=True)
        _run([str(postgres.PG_BIN / "pg_dump"), "--format=custom", "--no-password", f"--file={target}"], env)
        dumped.append(db.name)
    if not dumped:
        raise DataplatError("no platform database to back up: is this stack's PostgreSQL set up?")
    step("copying the schema registry's store")
    store = paths.data / "registry" / "registry.db"
    if store.exists():
        copy_sqlite(store, staging / "registry" / "registry.db")
    step("copying secrets, settings and SQLPad's files")
    shutil.copy2(paths.secrets_file, staging / "secrets.env")
    if settings_file().exists():
        (staging / "settings").mkdir()
        shutil.copy2(settings_file(), staging / "settings" / "dataplat.toml")
    for path in sorted((paths.data / "sqlpad").glob("*.db")):
        if path.name not in SQLPAD_SKIP:
            (staging / "sqlpad").mkdir(exist_ok=True)
            shutil.copy2(path, staging / "sqlpad" / path.name)
    return {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataplat_version": _dataplat_version(),
        "postgresql": {"server": server, "pg_dump": _tool_version(postgres.PG_BIN / "pg_dump")},
        "databases": dumped,
        "host": socket.gethostname(),
        "home": str(paths.home),
        "scope": SCOPE,
    }


@contextmanager
def _steps(console: Console, title: str, total: int) -> Iterator[Step]:
    """One rich progress bar; each call names the step now running and advances the previous one."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(title, total=total)
        first = [True]

        def step(what: str) -> None:
            if not first[0]:
                progress.advance(task)
            first[0] = False
            progress.update(task, description=f"{title}: {what}")

        yield step
        progress.update(task, completed=total, description=f"{title}: done")


def backup(settings: Settings, console: Console, archive: Path | None = None) -> Path:
    """Write the metadata archive (default :func:`default_archive`); returns its path."""
    paths = paths_for(settings)
    target = (archive or default_archive(paths)).resolve()
    if target.exists():
        raise DataplatError(f"{target} exists; name another archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as scratch:
        staging = Path(scratch)
        with _steps(console, "backup", len(postgres.DATABASES) + 3) as step:
            manifest = collect(settings, staging, step)
            step(f"writing {target.name}")
            write_archive(staging, target, manifest)
    return target


# -- restore ---------------------------------------------------------------------------------------
def extract(archive: Path, into: Path) -> dict[str, Any]:
    """Check every member's name and checksum, extract into ``into``; returns the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            strange = [m.name for m in members if not (m.isfile() and MEMBER.match(m.name))]
            if strange:
                raise DataplatError(f"{archive} is not a dataplat backup (unexpected {strange[:5]})")
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise DataplatError(f"{archive} is damaged or not a tar.gz: {error}") from error
    try:
        manifest: dict[str, Any] = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise DataplatError(f"{archive} has no readable {MANIFEST}") from error
    if manifest.get("format") != FORMAT:
        raise DataplatError(
            f"{archive} has backup format {manifest.get('format')}; this version reads {FORMAT}"
        )
    for name, meta in manifest["files"].items():
        path = into / name
        if not path.is_file() or _sha256(path) != meta["sha256"]:
            raise DataplatError(f"{archive}: {name} is missing or damaged (checksum)")
    return manifest


def check_restorable(paths: Paths) -> None:
    """Restore only into a stopped stack whose data folder holds no data (after ``dataplat reset``)."""
    supervisor = Supervisor(paths)
    if supervisor.running():
        running = [n for n, i in supervisor.all_info().items() if i.state in {"RUNNING", "STARTING"}]
        if running:
            raise DataplatError(f"the stack is running ({', '.join(running)}): `dataplat down` first")
    if paths.data.exists() and any(p.is_file() for p in paths.data.rglob("*")):
        raise DataplatError(
            f"{paths.data} holds data: restore goes into a reset stack; `dataplat reset` first "
            "(it deletes data, logs and secrets; downloads and backups/ are kept)"
        )


def _put(source: Path, target: Path, mode: int = 0o600) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    os.chmod(target, mode)


def _settings_note(extracted: Path) -> str:
    saved = extracted / "settings" / "dataplat.toml"
    if not saved.exists():
        return "the backup was made without a settings file"
    current = settings_file()
    if current.exists() and current.read_bytes() == saved.read_bytes():
        return f"the settings file {current} is the one backed up"
    return (
        f"the backed-up settings differ from {current} (or it is absent): they are in the archive's "
        "settings/dataplat.toml, not put back"
    )


def restore(settings: Settings, console: Console, archive: Path) -> Restored:
    """Put the archive's metadata back into a stopped, reset stack; leaves the stack stopped."""
    from dataplat.runtime import Stack

    paths = paths_for(settings)
    check_restorable(paths)
    with tempfile.TemporaryDirectory(prefix="dataplat-restore-") as scratch:
        extracted = Path(scratch)
        manifest = extract(archive, extracted)
        dumps = sorted((extracted / "postgres").glob("*.dump"))
        with _steps(console, "restore", len(dumps) + 3) as step:
            step("putting back the secrets")
            _put(extracted / "secrets.env", paths.secrets_file)
            stack = Stack(settings)  # its specs read the restored secrets
            started = postgres.SETUP in stack.specs
            if started:
                step("starting PostgreSQL alone (roles with the restored passwords)")
                stack.up([postgres.SETUP])
            try:
                for dump in dumps:
                    step(f"restoring database {dump.stem}")
                    env = pg_env(settings, paths, postgres.Database(dump.stem))
                    _run(
                        [str(postgres.PG_BIN / "pg_restore"), "--clean", "--if-exists", "--no-password",
                         "--exit-on-error", "--single-transaction", f"--dbname={dump.stem}", str(dump)],
                        env,
                    )  # fmt: skip
            finally:
                if started:
                    stack.down()
            step("putting back the registry's store and SQLPad's files")
            files = []
            for folder in ("registry", "sqlpad"):
                for path in sorted((extracted / folder).glob("*.db")):
                    _put(path, paths.data / folder / path.name)
                    files.append(f"{folder}/{path.name}")
        note = _settings_note(extracted)
    return Restored(manifest["created_at"], [d.stem for d in dumps], files, note)
