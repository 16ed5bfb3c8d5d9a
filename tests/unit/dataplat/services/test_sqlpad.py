"""The SQLPad specs: node on loopback from the installed package, secrets in env, setup after Trino."""

from __future__ import annotations

from dataplat.secrets import get_secret
from dataplat.services import sqlpad
from dataplat.spec import Condition, Context, Kind

from .conftest import PYTHON, MakeContext, by_name


def test_server_and_its_environment(ctx: Context) -> None:
    server = by_name(sqlpad.specs(ctx))["sqlpad"]
    assert server.kind is Kind.DAEMON and server.probe is not None
    assert server.argv[0].endswith("node")
    assert server.argv[1:] == (str(ctx.paths.dist / "sqlpad" / "node_modules" / "sqlpad" / "server.js"),)
    assert server.ports == {"http": 3000} and server.url == "http://127.0.0.1:3000"
    assert server.cwd == ctx.paths.data / "sqlpad" and not server.depends_on
    secrets = ctx.paths.secrets_file
    assert dict(server.env) == {
        "SQLPAD_DB_PATH": str(ctx.paths.data / "sqlpad"),
        "SQLPAD_IP": "127.0.0.1",
        "SQLPAD_PORT": "3000",
        "SQLPAD_ADMIN": "admin@dataplat.local",
        "SQLPAD_COOKIE_SECRET": get_secret(secrets, "SQLPAD_COOKIE_SECRET"),
        "SQLPAD_PASSPHRASE": get_secret(secrets, "SQLPAD_PASSPHRASE"),
        "SQLPAD_QUERY_RESULT_MAX_ROWS": "50000",
        "NODE_ENV": "production",
    }
    assert "SQLPAD_ADMIN_PASSWORD" not in server.env  # 3.1.0 breaks it: setup sets the password


def test_setup_runs_once_after_sqlpad_and_trino(ctx: Context, make_context: MakeContext) -> None:
    setup = by_name(sqlpad.specs(ctx))["sqlpad-setup"]
    assert setup.kind is Kind.ONESHOT and setup.probe is None
    assert setup.argv == (str(PYTHON), "-m", "dataplat.setup.sqlpad")
    assert setup.depends_on == {"sqlpad": Condition.HEALTHY, "trino": Condition.HEALTHY}
    assert setup.creates == sqlpad.setup_stamp(ctx.paths) == ctx.paths.data / "sqlpad" / "setup.done"
    external = make_context(external={"trino_url": "http://trino.example:8080"})
    assert by_name(sqlpad.specs(external))["sqlpad-setup"].depends_on == {"sqlpad": Condition.HEALTHY}


def test_port_and_bind_host_from_settings(make_context: MakeContext) -> None:
    server = by_name(sqlpad.specs(make_context(ports={"sqlpad": 3300})))["sqlpad"]
    assert server.env["SQLPAD_PORT"] == "3300" and server.url == "http://127.0.0.1:3300"
