"""The Airflow specs: migrate, then the api-server on loopback, then its three components."""

from __future__ import annotations

import json

import pytest

from dataplat.render import render_text
from dataplat.secrets import get_secret
from dataplat.services import airflow
from dataplat.spark_conf import spark_conf_dir
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA17, PYTHON, SPARK_HOME, MakeContext, by_name

AIRFLOW = str(PYTHON.parent / "airflow")


def test_argv_order_and_dependencies(ctx: Context) -> None:
    specs = by_name(airflow.specs(ctx))
    assert list(specs) == [
        "airflow-migrate", "airflow-api", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
    ]  # fmt: skip
    assert {spec.group for spec in specs.values()} == {"airflow"}
    migrate = specs["airflow-migrate"]
    assert migrate.kind is Kind.ONESHOT and migrate.argv == (AIRFLOW, "db", "migrate") and not migrate.creates
    assert migrate.depends_on == {"postgres-setup": Condition.COMPLETED}  # its database and role exist
    api = specs["airflow-api"]
    assert api.argv == (AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", "8280")
    assert api.ports == {"http": 8280} and api.url == "http://127.0.0.1:8280"
    assert api.depends_on == {"airflow-migrate": Condition.COMPLETED}
    after_api = {"airflow-migrate": Condition.COMPLETED, "airflow-api": Condition.HEALTHY}
    assert specs["airflow-scheduler"].argv == (AIRFLOW, "scheduler", "--skip-serve-logs")
    assert specs["airflow-triggerer"].argv == (AIRFLOW, "triggerer", "--skip-serve-logs")
    assert specs["airflow-dag-processor"].argv == (AIRFLOW, "dag-processor")
    for name in ("airflow-api", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert specs[name].kind is Kind.DAEMON and specs[name].probe is not None
        assert specs[name].setup == (spark_conf_dir,)  # SparkSubmitOperator's SPARK_CONF_DIR
        if name != "airflow-api":
            assert specs[name].depends_on == after_api and not specs[name].ports


def test_environment(ctx: Context) -> None:
    env = by_name(airflow.specs(ctx))["airflow-scheduler"].env
    home = ctx.paths.data / "airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1" and env["AIRFLOW__API__PORT"] == "8280"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8280/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["PATH"] == f"{PYTHON.parent}:/usr/bin:/bin"  # not the caller's shell's PATH
    assert env["JAVA_HOME"] == str(JAVA17) and env["SPARK_HOME"] == str(SPARK_HOME)
    assert env["SPARK_CONF_DIR"] == str(ctx.paths.conf / "spark") and env["PYSPARK_PYTHON"] == str(PYTHON)
    secrets = ctx.paths.secrets_file
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == get_secret(secrets, "AIRFLOW_JWT_SECRET", length=48)
    assert env["AIRFLOW__CORE__FERNET_KEY"] == airflow.fernet_key(get_secret(secrets, "AIRFLOW_FERNET_SEED"))
    assert json.loads(env["AIRFLOW_CONN_TRINO_DEFAULT"]) == {
        "conn_type": "trino", "host": "127.0.0.1", "port": 8080, "login": "airflow",
        "extra": {"protocol": "http"},
    }  # fmt: skip
    assert json.loads(env["AIRFLOW_CONN_SOURCE_API"])["port"] == 8001
    assert json.loads(env["AIRFLOW_CONN_WEBHDFS_DEFAULT"])["port"] == 9870


def test_connections_follow_external_endpoints(make_context: MakeContext) -> None:
    ctx = make_context(external={"trino_url": "https://trino.example:8443", "spark_master": "yarn"})
    conns = airflow.connections(ctx.settings)
    assert conns["trino_default"]["host"] == "trino.example"
    assert conns["trino_default"]["extra"] == {"protocol": "https"}
    assert conns["spark_default"]["host"] == "yarn"


def test_admin_password_file_is_private_and_rendered(ctx: Context) -> None:
    [config] = by_name(airflow.specs(ctx))["airflow-api"].configs
    assert config.target == airflow.passwords_file(ctx.paths) and config.mode == 0o600
    text = render_text(config.template, ctx, secret=lambda name: get_secret(ctx.paths.secrets_file, name))
    assert json.loads(text) == {"admin": get_secret(ctx.paths.secrets_file, "AIRFLOW_ADMIN_PASSWORD")}


def test_metadata_database_is_the_platforms_postgresql(ctx: Context) -> None:
    specs = by_name(airflow.specs(ctx))
    password = get_secret(ctx.paths.secrets_file, "POSTGRES_AIRFLOW_PASSWORD")
    for spec in specs.values():
        url = spec.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert url == f"postgresql+psycopg2://airflow:{password}@127.0.0.1:5432/airflow"
        assert spec.env["AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_PRE_PING"] == "True"
        assert password not in " ".join(spec.argv)  # only in the environment (0600 supervisord.conf)


def test_parallelism_and_database_follow_settings(make_context: MakeContext) -> None:
    ctx = make_context(airflow_parallelism=8, external={"postgres_host": "db.example", "postgres_port": 6432})
    specs = by_name(airflow.specs(ctx))
    env = specs["airflow-scheduler"].env
    assert env["AIRFLOW__CORE__PARALLELISM"] == "8"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@db.example:6432/airflow")
    assert specs["airflow-migrate"].depends_on == {}  # nothing made here without admin credentials


def test_environment_does_not_depend_on_the_callers_path(
    make_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/somewhere/else:/usr/bin")
    first = by_name(airflow.specs(make_context()))["airflow-api"].env
    monkeypatch.setenv("PATH", "/another/shell:/bin")
    assert by_name(airflow.specs(make_context()))["airflow-api"].env == first
