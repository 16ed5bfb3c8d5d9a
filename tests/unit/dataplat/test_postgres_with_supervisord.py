"""A real PostgreSQL 15 brought up by the runtime's Stack in a throwaway home on a free port.

initdb oneshot -> server -> postgres-setup: the roles exist with SCRAM passwords, a login without a
password fails, the server listens on 127.0.0.1 only, and a SIGKILL is healed by supervisord.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dataplat.ports import free_port
from dataplat.runtime import Stack, build_context
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.settings import Ports, Settings

psycopg2 = pytest.importorskip("psycopg2")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (postgres.PG_BIN / "postgres").exists(),
        reason=f"needs Debian's postgresql-15 ({postgres.PG_BIN})",
    ),
]


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """A home the server's own user can enter when the tests run as root (pytest's tmp is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="dataplat-pg-"))
    folder.chmod(0o755)
    yield folder / "home"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(home: Path) -> Iterator[Stack]:
    """One cluster for the module (initdb takes seconds)."""
    settings = Settings(
        home=home, cache=home.parent / "cache", ports=Ports(postgres=free_port()), ready_timeout_s=90
    )
    made = Stack(settings, specs=postgres.specs(build_context(settings)))
    yield made
    made.down()


def connect(stack: Stack, user: str, **extra: object) -> object:
    s = stack.ctx.settings
    return psycopg2.connect(
        host="127.0.0.1", port=s.ports.postgres, user=user, dbname=user, connect_timeout=5, **extra
    )


def server_pid(stack: Stack) -> int:
    pid = stack.supervisor.info("postgres").pid
    process = psutil.Process(pid)
    return pid if process.name() == "postgres" else process.children()[0].pid


def test_init_server_setup_roles_scram_and_loopback_only(stack: Stack) -> None:
    stack.up()
    secrets = stack.paths.secrets_file
    data = stack.paths.data / "postgres"
    assert (data / "PG_VERSION").read_text().strip() == "15"
    assert oct(data.stat().st_mode & 0o777) == "0o700"
    for db in postgres.DATABASES:
        connection = connect(stack, db.role, password=get_secret(secrets, db.password_secret))
        with connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT current_user, current_database(), current_setting('wal_level')")
            assert cursor.fetchone() == (db.role, db.name, "logical")
        connection.close()  # type: ignore[attr-defined]
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        connect(stack, "airflow")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect(stack, "airflow", password="not-the-password")
    with pytest.raises(psycopg2.OperationalError, match="CONNECT privilege"):
        psycopg2.connect(
            host="127.0.0.1", port=stack.ctx.settings.ports.postgres, user="airflow", dbname="superset",
            password=get_secret(secrets, "POSTGRES_AIRFLOW_PASSWORD"),
        )  # fmt: skip
    admin = connect(stack, "postgres", password=get_secret(secrets, "POSTGRES_PASSWORD"))
    with admin, admin.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)", (["airflow"],))
        [(_, stored)] = cursor.fetchall()
        assert stored.startswith("SCRAM-SHA-256$4096:")
    admin.close()  # type: ignore[attr-defined]
    pid = server_pid(stack)
    listening = {
        conn.laddr.ip
        for conn in psutil.net_connections("inet")
        if conn.pid == pid and conn.status == psutil.CONN_LISTEN
    }
    assert listening == {"127.0.0.1"}
    if os.geteuid() == 0:
        assert psutil.Process(pid).username() == postgres.SYSTEM_USER

    stack.up()  # a second `up` reruns setup: nothing breaks, the passwords still work
    connect(stack, "metastore", password=get_secret(secrets, "POSTGRES_METASTORE_PASSWORD")).close()  # type: ignore[attr-defined]


def test_sigkilled_server_is_restarted_and_recovers(stack: Stack) -> None:
    stack.up()
    secret = get_secret(stack.paths.secrets_file, "POSTGRES_SUPERSET_PASSWORD")
    connection = connect(stack, "superset", password=secret)
    with connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)")
    connection.close()  # type: ignore[attr-defined]
    os.kill(stack.supervisor.info("postgres").pid, signal.SIGKILL)
    stack.up(["postgres"])  # waits for supervisord's restart and crash recovery
    connection = connect(stack, "superset", password=secret)
    with connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT id FROM kept")
        assert cursor.fetchall() == [(42,)]
    connection.close()  # type: ignore[attr-defined]


def test_backup_reset_restore_brings_back_every_database(stack: Stack) -> None:
    """Last in the module: it resets the home. pg_dump -> reset -> initdb -> pg_restore, for real."""
    import io

    from rich.console import Console

    from dataplat import backup

    stack.up()
    secrets = stack.paths.secrets_file
    secret = get_secret(secrets, "POSTGRES_AIRFLOW_PASSWORD")
    connection = connect(stack, "airflow", password=secret)
    with connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("CREATE TABLE dag_run_like (id int PRIMARY KEY, state text)")
        cursor.execute("INSERT INTO dag_run_like VALUES (1, 'success'), (2, 'failed')")
    connection.close()  # type: ignore[attr-defined]
    quiet = Console(file=io.StringIO())
    archive = backup.backup(stack.ctx.settings, quiet)
    stack.reset()
    assert not secrets.exists() and not (stack.paths.data / "postgres").exists()
    with pytest.raises(backup.DataplatError, match="damaged"):
        broken = archive.with_name("broken.tar.gz")
        broken.write_bytes(archive.read_bytes()[:-200])
        backup.restore(stack.ctx.settings, quiet, broken)
    done = backup.restore(stack.ctx.settings, quiet, archive)
    assert done.databases == ["airflow", "metastore", "superset"]
    assert get_secret(secrets, "POSTGRES_AIRFLOW_PASSWORD") == secret  # the secrets came back
    assert not stack.supervisor.running()  # restore leaves the stack stopped
    stack.up()
    connection = connect(stack, "airflow", password=secret)
    with connection, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT id, state FROM dag_run_like ORDER BY id")
        assert cursor.fetchall() == [(1, "success"), (2, "failed")]
    connection.close()  # type: ignore[attr-defined]
