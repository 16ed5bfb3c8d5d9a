"""The Superset specs: init, gunicorn on loopback from its own venv, setup after Trino, its config."""

from __future__ import annotations

from dataplat.render import render_text
from dataplat.secrets import get_secret
from dataplat.services import postgres, superset
from dataplat.spec import Condition, Context, Kind

from .conftest import PYTHON, MakeContext, by_name


def test_order_kinds_and_dependencies(ctx: Context) -> None:
    specs = by_name(superset.specs(ctx))
    assert list(specs) == ["superset-init", "superset", "superset-setup"]
    init, server, setup = specs.values()
    assert init.kind is Kind.ONESHOT and init.creates == ctx.paths.data / "superset" / "init-6.1.0.done"
    assert server.kind is Kind.DAEMON and server.probe is not None
    assert server.depends_on == {"superset-init": Condition.COMPLETED}
    assert setup.kind is Kind.ONESHOT and setup.argv == (str(PYTHON), "-m", "dataplat.setup.superset")
    assert setup.depends_on == {"superset": Condition.HEALTHY, "trino": Condition.HEALTHY}
    assert setup.creates == superset.setup_stamp(ctx.paths) == ctx.paths.data / "superset" / "setup.done"


def test_gunicorn_binds_loopback(ctx: Context) -> None:
    server = by_name(superset.specs(ctx))["superset"]
    venv = ctx.paths.dist / "superset-venv"
    assert server.argv == (
        str(venv / "bin" / "gunicorn"),
        "--bind", "127.0.0.1:8088",
        "--workers", "1", "--worker-class", "gthread", "--threads", "4",
        "--timeout", "120", "--graceful-timeout", "15",
        "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    )  # fmt: skip
    assert server.ports == {"http": 8088} and server.url == "http://127.0.0.1:8088"


def test_init_script_and_environment(ctx: Context) -> None:
    init = by_name(superset.specs(ctx))["superset-init"]
    bin_ = ctx.paths.dist / "superset-venv" / "bin" / "superset"
    admin = "--username admin --firstname Admin --lastname Dataplat --email admin@dataplat.local"
    assert init.argv == (
        "bash",
        "-c",
        f"set -e; {bin_} db upgrade; {bin_} fab create-admin {admin} </dev/null; {bin_} init; "
        f"touch {ctx.paths.data}/superset/init-6.1.0.done",
    )
    password = get_secret(ctx.paths.secrets_file, "SUPERSET_ADMIN_PASSWORD")
    assert init.env["FLASK_FAB_CREATE_ADMIN_PASSWORD"] == password  # never in argv
    assert password not in " ".join(init.argv)
    assert init.env["SUPERSET_CONFIG_PATH"] == str(ctx.paths.conf / "superset" / "superset_config.py")
    assert init.env["PATH"].startswith(f"{bin_.parent}:")


def test_config_is_private_and_rendered(ctx: Context, make_context: MakeContext) -> None:
    [config] = by_name(superset.specs(ctx))["superset"].configs
    assert config.mode == 0o600  # it holds the secret key
    text = render_text(config.template, ctx, secret=lambda name: get_secret(ctx.paths.secrets_file, name))
    namespace: dict[str, object] = {}
    exec(compile(text, "superset_config.py", "exec"), namespace)  # the rendered file is valid Python
    password = get_secret(ctx.paths.secrets_file, "POSTGRES_SUPERSET_PASSWORD")
    assert namespace["SQLALCHEMY_DATABASE_URI"] == postgres.sqlalchemy_url(
        ctx.settings, postgres.SUPERSET, password
    )
    assert (
        namespace["SQLALCHEMY_DATABASE_URI"]
        == f"postgresql+psycopg2://superset:{password}@127.0.0.1:5432/superset"
    )
    assert by_name(superset.specs(ctx))["superset-init"].depends_on == {"postgres-setup": Condition.COMPLETED}
    external = by_name(superset.specs(make_context(external={"trino_url": "https://t.example"})))
    assert external["superset-setup"].depends_on == {"superset": Condition.HEALTHY}
