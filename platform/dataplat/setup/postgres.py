"""``postgres-init`` and ``postgres-setup``: the platform's PostgreSQL cluster, its roles and databases.

``python -m dataplat.setup.postgres init --bin B --data D --socket-dir S --superuser U [--owner O]``
(superuser password in ``$POSTGRES_PASSWORD``) runs initdb once, non-interactively, into a staging
folder renamed to ``D`` when complete; as root it first creates the system user ``O`` (the server
refuses root) and hands it the cluster. ``python -m dataplat.setup.postgres setup DB...`` connects
with libpq's ``PG*`` variables and creates each database and its owner role (same name) with the
password in ``$POSTGRES_<DB>_PASSWORD``, sent as a SCRAM verifier (the plain password never reaches
the server); a rerun changes nothing but the verifiers. Argv and output never hold a password.

With ``--cdc-database D`` it also readies ``D`` for change data capture: the database and its owner
role, the schema file applied as that owner, the heartbeat table, the replication role
(``--cdc-role``, LOGIN REPLICATION, password in ``$POSTGRES_CDC_REPLICATOR_PASSWORD``) allowed to
read the captured tables (``--cdc-tables``, each of which must have a primary key) and to write the
heartbeat, and the publication of those tables, created or brought in step with the list.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataplat.services.postgres import REPLICATOR_SECRET, SUPERUSER_SECRET, Database, as_owner

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


# -- change data capture ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CdcSource:
    """The operational database Debezium reads, as ``--cdc-*`` describes it."""

    database: str
    schema: str
    tables: tuple[str, ...]  # captured, each with a primary key
    heartbeat: str  # written by the connector's heartbeat.action.query, published too
    signal: str  # Debezium's signal table (incremental snapshots), published too
    publication: str
    role: str  # the replication role
    schema_file: Path | None = None  # DDL applied as the database's owner (idempotent)

    @property
    def published(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.tables, self.heartbeat, self.signal)))


class CdcSetupError(Exception):
    """The operational database cannot be captured as configured; the message says what to do."""


HEARTBEAT_DDL = "CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY, ts timestamptz NOT NULL)"
# Debezium's signal table layout (id, type, data); the connector writes its snapshot windows here too
SIGNAL_DDL = (
    "CREATE TABLE IF NOT EXISTS {} (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text)"
)
KEYS_SQL = """
SELECT c.relname, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
"""


def _tables(names: Sequence[str], verb: tuple[str, str]) -> str:
    return f"table {names[0]} {verb[0]}" if len(names) == 1 else f"tables {', '.join(names)} {verb[1]}"


def _it(names: Sequence[str]) -> str:
    return "it" if len(names) == 1 else "them"


def key_problems(source: CdcSource, has_key: dict[str, bool]) -> str | None:
    """Why the captured tables cannot be published (``has_key``: table -> has a primary key)."""
    missing = [t for t in source.published if t not in has_key]
    keyless = [t for t in source.published if has_key.get(t) is False]
    where = f"in database {source.database}, schema {source.schema}"
    problems = []
    if keyless:
        problems.append(
            f"{_tables(keyless, ('has', 'have'))} no primary key {where}; change data capture keys every "
            "change by it: add one (ALTER TABLE ... ADD PRIMARY KEY (...)) or remove the table from "
            "[cdc] tables in dataplat.toml"
        )
    if missing:
        problems.append(
            f"{_tables(missing, ('does', 'do'))} not exist {where}: create {_it(missing)} with a primary "
            f"key or remove {_it(missing)} from [cdc] tables in dataplat.toml"
        )
    return "; ".join(problems) or None


def ensure_replication_role(cursor: Any, role: str, password: str) -> list[str]:
    """``role`` with LOGIN REPLICATION and ``password`` (a SCRAM verifier); returns what changed."""
    from psycopg2 import sql

    statement = "ALTER ROLE {} LOGIN REPLICATION PASSWORD %s"
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    made = []
    if cursor.fetchone() is None:
        statement = "CREATE ROLE {} LOGIN REPLICATION PASSWORD %s"
        made.append(f"role {role} created")
    cursor.execute(sql.SQL(statement).format(sql.Identifier(role)), (scram_verifier(password),))
    return made


def ensure_publication(cursor: Any, source: CdcSource) -> list[str]:
    """The publication of exactly ``source.published`` (created, or its table list set)."""
    from psycopg2 import sql

    name = sql.Identifier(source.publication)
    tables = sql.SQL(", ").join(sql.Identifier(source.schema, t) for t in source.published)
    cursor.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (source.publication,))
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(name, tables))
        return [f"publication {source.publication} created"]
    cursor.execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (source.publication,)
    )
    if set(cursor.fetchall()) == {(source.schema, t) for t in source.published}:
        return []
    cursor.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(name, tables))
    return [f"publication {source.publication} set to {', '.join(source.published)}"]


def prepare_source(cursor: Any, source: CdcSource, owner: str) -> list[str]:
    """In ``source.database``, as ``owner``: schema file, heartbeat, key check, grants, publication."""
    from psycopg2 import sql

    schema, role = sql.Identifier(source.schema), sql.Identifier(source.role)
    cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner)))
    cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
    cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
    if source.schema_file is not None:
        cursor.execute(source.schema_file.read_text())
    heartbeat = sql.Identifier(source.schema, source.heartbeat)
    cursor.execute(sql.SQL(HEARTBEAT_DDL).format(heartbeat))
    signal = sql.Identifier(source.schema, source.signal)
    cursor.execute(sql.SQL(SIGNAL_DDL).format(signal))
    cursor.execute(KEYS_SQL, (source.schema, list(source.published)))
    problem = key_problems(source, dict(cursor.fetchall()))
    if problem is not None:
        raise CdcSetupError(problem)
    published = sql.SQL(", ").join(sql.Identifier(source.schema, t) for t in source.published)
    for statement, target in (
        ("GRANT CONNECT ON DATABASE {} TO {}", sql.Identifier(source.database)),
        ("GRANT USAGE ON SCHEMA {} TO {}", schema),
        ("GRANT SELECT ON TABLE {} TO {}", published),
        ("GRANT INSERT, UPDATE ON TABLE {} TO {}", heartbeat),
        ("GRANT INSERT ON TABLE {} TO {}", signal),
    ):
        cursor.execute(sql.SQL(statement).format(target, role))
    return ensure_publication(cursor, source)


def setup_cdc(admin: Any, source: CdcSource, environ: dict[str, str] | os._Environ[str]) -> int:
    """Ready ``source`` for Debezium (``admin``: an autocommit connection to the admin's database)."""
    import psycopg2

    db = Database(source.database)
    passwords = {name: environ.get(name) for name in (db.password_secret, REPLICATOR_SECRET)}
    if unset := [name for name, value in passwords.items() if not value]:
        print(f"postgres-setup: ${', $'.join(unset)} not set", file=sys.stderr)
        return 1
    try:
        with admin.cursor() as cursor:
            made = ensure_database(cursor, db, str(passwords[db.password_secret]))
            made += ensure_replication_role(cursor, source.role, str(passwords[REPLICATOR_SECRET]))
        connection = psycopg2.connect("", dbname=source.database)  # the admin, in the database itself
        with closing(connection), connection, connection.cursor() as cursor:  # one transaction
            made += prepare_source(cursor, source, db.role)
    except (CdcSetupError, psycopg2.Error) as error:
        print(f"postgres-setup: change data capture in {source.database}: {error}".strip(), file=sys.stderr)
        return 1
    print(
        f"postgres-setup: {source.database}: {', '.join(made) or 'ready'} (captured: "
        f"{', '.join(source.tables)}; publication {source.publication}; replication role {source.role})"
    )
    return 0


# -- entry point ------------------------------------------------------------------------------------
def setup_databases(
    names: Sequence[str],
    environ: dict[str, str] | os._Environ[str] = os.environ,
    cdc: CdcSource | None = None,
) -> int:
    """Connect as the admin (libpq's ``PG*`` variables) and ensure every named database (and ``cdc``)."""
    import psycopg2

    connection = psycopg2.connect("")  # PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with closing(connection):
        with connection.cursor() as cursor:
            for name in names:
                db = Database(name)
                password = environ.get(db.password_secret)
                if not password:
                    print(f"postgres-setup: ${db.password_secret} is not set", file=sys.stderr)
                    return 1
                made = ", ".join(ensure_database(cursor, db, password)) or "exists"
                print(f"postgres-setup: {name}: {made} (password in {db.password_secret})")
        return setup_cdc(connection, cdc, environ) if cdc is not None else 0


def cdc_source(args: argparse.Namespace) -> CdcSource | None:
    if args.cdc_database is None:
        return None
    return CdcSource(
        database=args.cdc_database,
        schema=args.cdc_schema,
        tables=tuple(t.strip() for t in args.cdc_tables.split(",") if t.strip()),
        heartbeat=args.cdc_heartbeat,
        signal=args.cdc_signal,
        publication=args.cdc_publication,
        role=args.cdc_role,
        schema_file=args.cdc_schema_file,
    )


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
    setup.add_argument("databases", nargs="*")
    cdc = setup.add_argument_group("change data capture (with --cdc-database)")
    cdc.add_argument("--cdc-database", help="the operational database to ready for Debezium")
    cdc.add_argument("--cdc-schema", default="public")
    cdc.add_argument("--cdc-tables", default="", help="captured tables, comma-separated")
    cdc.add_argument("--cdc-heartbeat", default="dataplat_heartbeat", help="heartbeat table (made here)")
    cdc.add_argument("--cdc-signal", default="dataplat_signal", help="Debezium's signal table (made here)")
    cdc.add_argument("--cdc-publication")
    cdc.add_argument("--cdc-role", help=f"the replication role (password in ${REPLICATOR_SECRET})")
    cdc.add_argument("--cdc-schema-file", type=Path, help="DDL applied as the database's owner")
    args = parser.parse_args(argv)
    given = vars(args)
    if given.get("cdc_database") and not all(given[k] for k in ("cdc_tables", "cdc_publication", "cdc_role")):
        parser.error("--cdc-database needs --cdc-tables, --cdc-publication and --cdc-role")
    password = os.environ.get(SUPERUSER_SECRET, "")
    if args.command == "init" and not password:
        parser.error(f"${SUPERUSER_SECRET} is not set")
    if args.command == "init":
        return init_cluster(args.bin, args.data, args.socket_dir, args.superuser, password, args.owner)
    return setup_databases(args.databases, cdc=cdc_source(args))


if __name__ == "__main__":
    os.umask(0o077)  # files it writes (initdb's password file) are private; not in main(): tests call it
    sys.exit(main())
