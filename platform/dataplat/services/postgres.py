"""PostgreSQL 15 (Debian's): the platform's own database for Airflow, the Hive Metastore and Superset.

``postgres-init`` (oneshot, once) makes a cluster of its own under ``data/postgres`` with initdb
(:mod:`dataplat.setup.postgres`), owned by the platform's user or, when the platform runs as root
(the server refuses root), by the system user ``dataplat-pg``. ``postgres`` runs the server from the
rendered ``conf/postgres/postgresql.conf``, listening on ``bind_host`` only (its unix socket in
``run/postgres``), ready when the superuser's ``SELECT 1`` answers over TCP with SCRAM.
``postgres-setup`` (every ``up``, idempotent) creates each platform database and the role that owns
it, with its generated password, and readies the operational database change data capture reads
(``[cdc] database``, ``condo``: its schema from ``pipelines/<database>/schema.sql``, the replication
role, the publication of the captured tables). With ``external.postgres_host`` no server runs here:
``postgres-setup`` runs against that instance when its admin's credentials are set, otherwise the
roles, databases and publication must exist there.

Every user of a platform database takes its name, role and password secret from :data:`DATABASES`.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import shutil
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from dataplat.paths import Paths
from dataplat.probes import callable_probe
from dataplat.render import render_config
from dataplat.secrets import get_secret
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec

VERSION = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{VERSION}/bin")
SYSTEM_USER = "dataplat-pg"  # owner of the cluster when the platform runs as root
SUPERUSER = "postgres"
SUPERUSER_SECRET = "POSTGRES_PASSWORD"  # noqa: S105 - the name of a generated secret
SETUP = "postgres-setup"  # the oneshot every database user waits on (Condition.COMPLETED)
TEMPLATES = ("postgresql.conf", "pg_hba.conf", "pg_ident.conf")


@dataclass(frozen=True)
class Database:
    """A platform database and the role that owns it (same name), its password a generated secret."""

    name: str

    @property
    def role(self) -> str:
        return self.name

    @property
    def password_secret(self) -> str:
        return f"POSTGRES_{self.name.upper()}_PASSWORD"


AIRFLOW = Database("airflow")
METASTORE = Database("metastore")
SUPERSET = Database("superset")
DATABASES = (AIRFLOW, METASTORE, SUPERSET)
REPLICATOR_SECRET = "POSTGRES_CDC_REPLICATOR_PASSWORD"  # noqa: S105 - Debezium's replication role


def cdc_database(s: Settings) -> Database:
    """The operational database change data capture reads (the sample ``condo`` by default)."""
    return Database(s.cdc.database)


def cdc_schema_file(s: Settings) -> Path | None:
    """The operational database's DDL kept in the repository (``pipelines/<database>/schema.sql``)."""
    path = REPO_ROOT / "pipelines" / s.cdc.database / "schema.sql"
    return path if path.is_file() else None


def cdc_setup_args(s: Settings) -> tuple[str, ...]:
    """``postgres-setup``'s options that ready the CDC source (names only; passwords go in env)."""
    cdc, schema_file = s.cdc, cdc_schema_file(s)
    return (
        "--cdc-database", cdc.database,
        "--cdc-schema", cdc.schema_name,
        "--cdc-tables", ",".join(cdc.tables),
        "--cdc-heartbeat", cdc.heartbeat_table,
        "--cdc-signal", cdc.signal_table,
        "--cdc-publication", cdc.publication,
        "--cdc-role", cdc.replication_role,
        *(("--cdc-schema-file", str(schema_file)) if schema_file else ()),
    )  # fmt: skip


def password(paths: Paths, db: Database) -> str:
    """The role's generated password (made on first use, kept in the secrets file)."""
    return get_secret(paths.secrets_file, db.password_secret)


def sqlalchemy_url(s: Settings, db: Database, secret: str, driver: str = "psycopg2") -> str:
    """``postgresql+psycopg2://role:password@host:port/db`` (for env and 0600 config files only)."""
    where = f"{s.postgres_host}:{s.postgres_port}/{db.name}"
    return f"postgresql+{driver}://{db.role}:{quote(secret, safe='')}@{where}"


def jdbc_url(s: Settings, db: Database) -> str:
    """``jdbc:postgresql://host:port/db`` (user and password go in separate properties)."""
    return f"jdbc:postgresql://{s.postgres_host}:{s.postgres_port}/{db.name}"


def depends(s: Settings) -> dict[str, Condition]:
    """What a database user waits on: the roles and databases exist (nothing when none is made here)."""
    return {SETUP: Condition.COMPLETED} if admin(s) is not None else {}


def admin(s: Settings) -> tuple[str, str | None] | None:
    """(user, password or None = the generated superuser's) that creates roles; None: nobody here."""
    ext = s.external
    if not ext.postgres_host:
        return SUPERUSER, None
    if ext.postgres_admin_user and ext.postgres_admin_password:
        return ext.postgres_admin_user, ext.postgres_admin_password
    return None


def os_owner(s: Settings) -> str | None:
    """The OS user the server runs as when that is not the platform's own user (None: the same)."""
    user = s.postgres.os_user or (SYSTEM_USER if os.geteuid() == 0 else None)
    return None if user in (None, getpass.getuser()) else user


def as_owner(argv: Sequence[str], owner: str | None) -> tuple[str, ...]:
    """``argv`` run as ``owner`` (setpriv execs it: no extra process between supervisord and it)."""
    if owner is None:
        return tuple(argv)
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return (setpriv, f"--reuid={owner}", f"--regid={owner}", "--init-groups", "--", *argv)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def socket_dir(paths: Paths) -> Path:
    return paths.run / "postgres"


def data_dir(paths: Paths) -> Path:
    return paths.data / "postgres"


def configs(paths: Paths) -> tuple[ConfigFile, ...]:
    return tuple(ConfigFile(f"postgres/{name}", paths.conf / "postgres" / name) for name in TEMPLATES)


def template_vars(ctx: Context) -> dict[str, object]:
    """What the templates need beyond the settings: who may use peer auth on the socket."""
    owner = os_owner(ctx.settings) or getpass.getuser()
    return {
        "superuser": SUPERUSER,
        "peer_users": sorted({owner, getpass.getuser()}),
        "loopback": is_loopback(ctx.settings.bind_host),
    }


def prepare(ctx: Context) -> None:
    """Render the server's configs and give it its socket folder (owned by the server's user)."""
    for config in configs(ctx.paths):
        render_config(config, ctx, **template_vars(ctx))
    folder = socket_dir(ctx.paths)
    folder.mkdir(parents=True, exist_ok=True)
    owner = os_owner(ctx.settings)
    if owner is not None:
        import pwd

        try:  # the user is created by postgres-init on the first start, which chowns the folder then
            entry = pwd.getpwnam(owner)
        except KeyError:
            return
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)


def query_probe(host: str, port: int, user: str, secret: str) -> Probe:
    """Ready when ``user`` logs in with its password over TCP and ``SELECT 1`` answers 1."""

    def check() -> str | None:
        import psycopg2

        connection = psycopg2.connect(
            host=host, port=port, user=user, password=secret, dbname="postgres", connect_timeout=3
        )
        with closing(connection), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
        return None if row == (1,) else f"SELECT 1 answered {row}"

    return callable_probe(f"postgres SELECT 1 as {user} at {host}:{port}", check)


def setup_env(s: Settings, paths: Paths) -> dict[str, str] | None:
    """libpq's ``PG*`` variables for the admin, plus each role's password; None: no setup here."""
    who = admin(s)
    if who is None:
        return None
    user, secret = who
    env = {
        "PGHOST": s.postgres_host,
        "PGPORT": str(s.postgres_port),
        "PGUSER": user,
        "PGPASSWORD": secret or get_secret(paths.secrets_file, SUPERUSER_SECRET),
        "PGDATABASE": "postgres",
        "PGCONNECT_TIMEOUT": "5",
        "PYTHONUNBUFFERED": "1",
    }
    roles = {db.password_secret: password(paths, db) for db in (*DATABASES, cdc_database(s))}
    return env | roles | {REPLICATOR_SECRET: get_secret(paths.secrets_file, REPLICATOR_SECRET)}


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    env = setup_env(s, paths)
    module = (str(ctx.python_bin), "-m", "dataplat.setup.postgres")
    setup = ServiceSpec(
        name=SETUP,
        argv=(*module, "setup", *(db.name for db in DATABASES), *cdc_setup_args(s)),
        kind=Kind.ONESHOT,  # every `up`: creates what is missing, keeps passwords in step with secrets
        env=env or {},
        depends_on={} if s.external.postgres_host else {"postgres": Condition.HEALTHY},
        hint=(
            f"see {ctx.log_file(SETUP)}; roles and databases: {', '.join(db.name for db in DATABASES)}; "
            f"CDC source: database {s.cdc.database}, [cdc] tables, publication {s.cdc.publication}"
        ),
    )
    if s.external.postgres_host:
        return [setup] if env is not None else []
    owner = os_owner(s)
    data, conf = data_dir(paths), paths.conf / "postgres"
    superuser_password = get_secret(paths.secrets_file, SUPERUSER_SECRET)
    init_argv = (
        *module, "init",
        "--bin", str(PG_BIN),
        "--data", str(data),
        "--socket-dir", str(socket_dir(paths)),
        "--superuser", SUPERUSER,
        *(("--owner", owner) if owner else ()),
    )  # fmt: skip
    init = ServiceSpec(
        name="postgres-init",
        argv=init_argv,
        kind=Kind.ONESHOT,
        env={SUPERUSER_SECRET: superuser_password, "PYTHONUNBUFFERED": "1"},
        creates=data / "PG_VERSION",
        hint=f"see {ctx.log_file('postgres-init')}; needs Debian's postgresql-{VERSION} ({PG_BIN})",
    )
    server = ServiceSpec(
        name="postgres",
        argv=as_owner((str(PG_BIN / "postgres"), f"--config-file={conf / 'postgresql.conf'}"), owner),
        probe=query_probe(s.bind_host, s.ports.postgres, SUPERUSER, superuser_password),
        ports={"postgres": s.ports.postgres},
        depends_on={"postgres-init": Condition.COMPLETED},
        setup=(prepare,),
        stop_timeout_s=60,  # a clean shutdown ends with a checkpoint
        hint=f"see {ctx.log_file('postgres')}; port {s.ports.postgres} must be free",
        url=f"postgresql://{s.postgres_host}:{s.postgres_port}",
    )
    return [init, server, setup]
