"""``postgres-init`` and ``postgres-setup``: the platform's PostgreSQL cluster, its roles and databases.

``python -m dataplat.setup.postgres init --bin B --data D --socket-dir S --superuser U [--owner O]``
(superuser password in ``$POSTGRES_PASSWORD``) runs initdb once, non-interactively, into a staging
folder renamed to ``D`` when complete; as root it first creates the system user ``O`` (the server
refuses root) and hands it the cluster. ``python -m dataplat.setup.postgres setup DB...`` connects
with libpq's ``PG*`` variables and creates each database and its owner role (same name) with the
password in ``$POSTGRES_<DB>_PASSWORD``, sent as a SCRAM verifier (the plain password never reaches
the server); a rerun changes nothing but the verifiers. Argv and output never hold a password.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from dataplat.services.postgres import SUPERUSER_SECRET, Database, as_owner

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


# -- init ------------------------------------------------------------------------------------------
def ensure_os_user(name: str) -> pwd.struct_passwd:
    """The system user ``name`` (with its own group, no home, no shell), created when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "dataplat PostgreSQL", name],
        check=True,
    )  # fmt: skip
    print(f"postgres-init: created system user {name}")
    return pwd.getpwnam(name)


def unreachable(path: Path, uid: int, gids: set[int]) -> Path | None:
    """The first folder on the way to ``path`` that ``uid`` may not enter (None: all can be)."""
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            continue
        mode = folder.stat()
        if mode.st_uid == uid:
            bit = stat.S_IXUSR
        elif mode.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return folder
    return None


def _chown(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def initdb_argv(bin_dir: Path, data: Path, superuser: str, pwfile: Path) -> list[str]:
    return [
        str(bin_dir / "initdb"),
        f"--pgdata={data}",
        f"--username={superuser}",
        f"--pwfile={pwfile}",
        "--auth-local=peer",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--data-checksums",
        "--no-instructions",
    ]


def init_cluster(
    bin_dir: Path, data: Path, socket_dir: Path, superuser: str, password: str, owner: str | None
) -> int:
    """initdb into ``data`` (once: an existing cluster is kept), owned by ``owner`` when given."""
    if (data / "PG_VERSION").exists():
        print(f"postgres-init: {data} already holds a cluster")
        return 0
    if data.exists() and any(data.iterdir()):
        print(f"postgres-init: {data} is not empty and holds no cluster; move it away", file=sys.stderr)
        return 1
    user = ensure_os_user(owner) if owner else None
    staging = data.with_name(data.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700, parents=True)
    socket_dir.mkdir(parents=True, exist_ok=True)
    socket_dir.chmod(0o700)
    if user is not None:
        gids = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
        blocked = unreachable(staging.parent, user.pw_uid, gids) or unreachable(
            socket_dir.parent, user.pw_uid, gids
        )
        if blocked is not None:
            print(
                f"postgres-init: the server's user {user.pw_name} cannot enter {blocked}; "
                f"allow it (chmod o+x {blocked}) or set DATAPLAT_HOME to a folder it can reach",
                file=sys.stderr,
            )
            return 1
        _chown(staging, user)
        _chown(socket_dir, user)
    with tempfile.TemporaryDirectory(prefix="dataplat-initdb-") as scratch:
        pwfile = Path(scratch) / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        _chown(Path(scratch), user)
        _chown(pwfile, user)
        done = subprocess.run(as_owner(initdb_argv(bin_dir, staging, superuser, pwfile), owner), check=False)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"postgres-init: initdb failed with status {done.returncode}", file=sys.stderr)
        return done.returncode
    if data.exists():
        data.rmdir()
    staging.rename(data)
    print(f"postgres-init: cluster made in {data} (superuser {superuser}, owner {owner or 'this user'})")
    return 0


# -- setup -----------------------------------------------------------------------------------------
def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for ``password`` (as libpq's PQencryptPasswordConn)."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def ensure_database(cursor: Any, db: Database, password: str) -> list[str]:
    """Create (or update) ``db``'s role and create ``db`` owned by it; returns what changed."""
    from psycopg2 import sql

    role, name = sql.Identifier(db.role), sql.Identifier(db.name)
    verifier = scram_verifier(password)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.role,))
    made = []
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(role), (verifier,))
        made.append("role created")
    else:
        cursor.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD %s").format(role), (verifier,))
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not cursor.fetchone()[0]:  # PostgreSQL 15: CREATE DATABASE ... OWNER needs membership
        cursor.execute(sql.SQL("GRANT {} TO current_user").format(role))
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(name, role))
        made.append("database created")
    cursor.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
    return made


def setup_databases(names: Sequence[str], environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """Connect as the admin (libpq's ``PG*`` variables) and ensure every named database."""
    import psycopg2

    connection = psycopg2.connect("")  # PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with closing(connection), connection.cursor() as cursor:
        for name in names:
            db = Database(name)
            password = environ.get(db.password_secret)
            if not password:
                print(f"postgres-setup: ${db.password_secret} is not set", file=sys.stderr)
                return 1
            made = ensure_database(cursor, db, password)
            print(f"postgres-setup: {name}: {', '.join(made) or 'exists'} (password in {db.password_secret})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataplat.setup.postgres")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="initdb once (superuser password in $POSTGRES_PASSWORD)")
    init.add_argument("--bin", type=Path, required=True)
    init.add_argument("--data", type=Path, required=True)
    init.add_argument("--socket-dir", type=Path, required=True)
    init.add_argument("--superuser", required=True)
    init.add_argument("--owner", help="OS user that owns and runs the cluster (created when missing)")
    setup = commands.add_parser("setup", help="ensure databases and their roles (admin in PG* vars)")
    setup.add_argument("databases", nargs="+")
    args = parser.parse_args(argv)
    password = os.environ.get(SUPERUSER_SECRET, "")
    if args.command == "init" and not password:
        parser.error(f"${SUPERUSER_SECRET} is not set")
    os.umask(0o077)
    if args.command == "init":
        return init_cluster(args.bin, args.data, args.socket_dir, args.superuser, password, args.owner)
    return setup_databases(args.databases)


if __name__ == "__main__":
    sys.exit(main())
