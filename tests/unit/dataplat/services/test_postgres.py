"""The PostgreSQL specs: initdb once, the server as a non-root owner on loopback, setup, its configs."""

from __future__ import annotations

import pytest

from dataplat.render import render_text
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.spec import Condition, Context, Kind

from .conftest import PYTHON, MakeContext, by_name

MODULE = (str(PYTHON), "-m", "dataplat.setup.postgres")


@pytest.fixture(autouse=True)
def as_plain_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs as a non-root platform user would get them (root adds the ``dataplat-pg`` owner)."""
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 1000)


def rendered(ctx: Context) -> dict[str, str]:
    return {
        config.target.name: render_text(config.template, ctx, **postgres.template_vars(ctx))
        for config in postgres.configs(ctx.paths)
    }


def test_order_kinds_and_dependencies(ctx: Context) -> None:
    specs = by_name(postgres.specs(ctx))
    assert list(specs) == ["postgres-init", "postgres", "postgres-setup"]
    init, server, setup = specs.values()
    assert init.kind is Kind.ONESHOT and init.creates == ctx.paths.data / "postgres" / "PG_VERSION"
    assert server.kind is Kind.DAEMON and server.probe is not None
    assert server.depends_on == {"postgres-init": Condition.COMPLETED}
    assert server.setup == (postgres.prepare,)
    assert server.ports == {"postgres": 5432} and server.url == "postgresql://127.0.0.1:5432"
    assert setup.kind is Kind.ONESHOT and setup.creates is None  # every `up`, idempotent
    assert setup.depends_on == {"postgres": Condition.HEALTHY}
    assert postgres.depends(ctx.settings) == {"postgres-setup": Condition.COMPLETED}


def test_argv_never_holds_a_password(ctx: Context) -> None:
    specs = by_name(postgres.specs(ctx))
    data = ctx.paths.data / "postgres"
    assert specs["postgres-init"].argv == (
        *MODULE, "init", "--bin", "/usr/lib/postgresql/15/bin", "--data", str(data),
        "--socket-dir", str(ctx.paths.run / "postgres"), "--superuser", "postgres",
    )  # fmt: skip
    conf = ctx.paths.conf / "postgres" / "postgresql.conf"
    assert specs["postgres"].argv == ("/usr/lib/postgresql/15/bin/postgres", f"--config-file={conf}")
    assert specs["postgres-setup"].argv[:7] == (*MODULE, "setup", "airflow", "metastore", "superset")
    secrets = ctx.paths.secrets_file.read_text()
    for spec in specs.values():
        for line in secrets.splitlines():
            assert line.partition("=")[2] not in " ".join(spec.argv)


def test_passwords_are_generated_secrets_passed_in_the_environment(ctx: Context) -> None:
    specs = by_name(postgres.specs(ctx))
    secrets = ctx.paths.secrets_file
    superuser = get_secret(secrets, "POSTGRES_PASSWORD")
    assert len(superuser) >= 24
    assert specs["postgres-init"].env["POSTGRES_PASSWORD"] == superuser
    env = specs["postgres-setup"].env
    assert env["PGHOST"] == "127.0.0.1" and env["PGPORT"] == "5432" and env["PGUSER"] == "postgres"
    assert env["PGPASSWORD"] == superuser
    passwords = {db.name: env[db.password_secret] for db in postgres.DATABASES}
    assert set(passwords) == {"airflow", "metastore", "superset"}
    assert len(set(passwords.values()) | {superuser}) == 4  # one per role
    assert passwords["metastore"] == get_secret(secrets, "POSTGRES_METASTORE_PASSWORD")


def test_root_runs_the_server_as_its_own_system_user(
    make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 0)
    monkeypatch.setattr(postgres.getpass, "getuser", lambda: "root")
    specs = by_name(postgres.specs(make_context()))
    assert specs["postgres-init"].argv[-2:] == ("--owner", "dataplat-pg")
    argv = specs["postgres"].argv
    assert argv[0].endswith("setpriv") and argv[1:5] == (
        "--reuid=dataplat-pg", "--regid=dataplat-pg", "--init-groups", "--",
    )  # fmt: skip
    assert argv[5] == "/usr/lib/postgresql/15/bin/postgres"
    ident = rendered(make_context())["pg_ident.conf"]
    assert "owner      dataplat-pg       postgres\n" in ident and "owner      root       postgres\n" in ident
    chosen = make_context(postgres={"os_user": "pgowner"})
    assert postgres.os_owner(chosen.settings) == "pgowner"


def test_server_config_loopback_scram_logical_wal_and_budget(ctx: Context) -> None:
    conf = rendered(ctx)["postgresql.conf"]
    for line in (
        "listen_addresses = '127.0.0.1'",
        "port = 5432",
        f"unix_socket_directories = '{ctx.paths.run}/postgres'",
        f"data_directory = '{ctx.paths.data}/postgres'",
        f"hba_file = '{ctx.paths.conf}/postgres/pg_hba.conf'",
        "password_encryption = scram-sha-256",
        "wal_level = logical",
        "max_replication_slots = 4",
        "max_wal_senders = 4",
        "shared_buffers = 128MB",
        "max_connections = 100",
        "log_destination = 'stderr'",
    ):
        assert f"\n{line}\n" in conf, line


def test_budget_comes_from_settings(make_context: MakeContext) -> None:
    ctx = make_context(postgres={"shared_buffers_mb": 64, "max_connections": 60}, ports={"postgres": 15432})
    conf = rendered(ctx)["postgresql.conf"]
    assert "\nshared_buffers = 64MB\n" in conf and "\nmax_connections = 60\n" in conf
    assert "\nport = 15432\n" in conf
    assert by_name(postgres.specs(ctx))["postgres"].ports == {"postgres": 15432}


def test_hba_is_scram_over_tcp_and_peer_for_the_superuser_on_the_socket(ctx: Context) -> None:
    rules = [line.split() for line in rendered(ctx)["pg_hba.conf"].splitlines() if line and line[0] != "#"]
    assert rules[0] == ["local", "all", "postgres", "peer", "map=owner"]
    assert all(rule[-1] == "scram-sha-256" for rule in rules[1:])
    assert {rule[3] for rule in rules if rule[0] == "host"} == {"127.0.0.1/32", "::1/128"}
    assert not any(rule[-1] in {"trust", "md5", "password"} for rule in rules)


def test_hba_beyond_loopback_still_scram(make_context: MakeContext) -> None:
    text = rendered(make_context(bind_host="0.0.0.0"))["pg_hba.conf"]
    assert "host    all          all             0.0.0.0/0      scram-sha-256" in text
    assert "listen_addresses = '0.0.0.0'" in rendered(make_context(bind_host="0.0.0.0"))["postgresql.conf"]


def test_urls_for_database_users(ctx: Context) -> None:
    s = ctx.settings
    assert postgres.sqlalchemy_url(s, postgres.AIRFLOW, "p/w@x") == (
        "postgresql+psycopg2://airflow:p%2Fw%40x@127.0.0.1:5432/airflow"
    )
    assert postgres.jdbc_url(s, postgres.METASTORE) == "jdbc:postgresql://127.0.0.1:5432/metastore"
    assert postgres.METASTORE.role == "metastore"
    assert postgres.METASTORE.password_secret == "POSTGRES_METASTORE_PASSWORD"


def test_external_postgres_with_admin_runs_setup_there_only(make_context: MakeContext) -> None:
    external = {
        "postgres_host": "db.example", "postgres_port": 6432,
        "postgres_admin_user": "admin", "postgres_admin_password": "given",
    }  # fmt: skip
    ctx = make_context(external=external)
    specs = by_name(postgres.specs(ctx))
    assert list(specs) == ["postgres-setup"]
    setup = specs["postgres-setup"]
    assert setup.depends_on == {}
    assert (setup.env["PGHOST"], setup.env["PGPORT"], setup.env["PGUSER"]) == ("db.example", "6432", "admin")
    assert setup.env["PGPASSWORD"] == "given"
    assert (
        postgres.jdbc_url(ctx.settings, postgres.METASTORE) == "jdbc:postgresql://db.example:6432/metastore"
    )


def test_external_postgres_without_admin_starts_nothing(make_context: MakeContext) -> None:
    ctx = make_context(external={"postgres_host": "db.example"})
    assert postgres.specs(ctx) == []
    assert postgres.depends(ctx.settings) == {}
    assert ctx.settings.postgres_port == 5432
