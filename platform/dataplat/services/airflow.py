"""Airflow 3 as separate supervised processes: api-server, scheduler, dag-processor, triggerer.

LocalExecutor (``airflow_parallelism`` task slots) on the platform's PostgreSQL (database and role
``airflow``, made by ``postgres-setup``, which ``airflow-migrate`` waits for); every setting is an
``AIRFLOW__*`` variable built by :func:`airflow_env` (the database URL with its password only there,
never in argv), connections are ``AIRFLOW_CONN_*`` JSON built by :func:`connections`. The
simple auth manager's ``admin`` gets the generated ``AIRFLOW_ADMIN_PASSWORD`` (no default password).
Readiness of each component is its own entry in the api-server's ``/api/v2/monitor/health``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dataplat.paths import Paths
from dataplat.probes import http_probe
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spark_conf import spark_conf_dir, spark_env
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec

GROUP = "airflow"
ADMIN_USER = "admin"
PASSWORDS_TEMPLATE = "airflow/simple_auth_manager_passwords.json"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
HEALTH_PATH = "/api/v2/monitor/health"
# PATH of every Airflow process: the venv's bin, then the system's (never the caller's shell, so the
# rendered supervisord config is the same from any shell)
BASE_PATH = "/usr/bin:/bin"
# SQLAlchemy pool of each Airflow process (4 of them): bounded, checked before use (a restarted
# PostgreSQL costs a reconnect, not an error)
POOL = {"SQL_ALCHEMY_POOL_SIZE": "5", "SQL_ALCHEMY_MAX_OVERFLOW": "5", "SQL_ALCHEMY_POOL_PRE_PING": "True"}
# generated secret -> token length in bytes (HS512 JWTs want a >= 64-byte key)
SECRETS = {
    "AIRFLOW_ADMIN_PASSWORD": 24,
    "AIRFLOW_JWT_SECRET": 48,
    "AIRFLOW_API_SECRET_KEY": 32,
    "AIRFLOW_FERNET_SEED": 32,
}
# health JSON key -> supervised process; each daemon is ready when its own entry is healthy
COMPONENTS = {
    "scheduler": "airflow-scheduler",
    "dag_processor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
}


def fernet_key(seed: str) -> str:
    """A valid Fernet key (urlsafe base64 of 32 bytes) derived from a generated secret."""
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()


def connections(s: Settings, *, spark_binary: str = "spark-submit") -> dict[str, dict[str, Any]]:
    """Airflow connections (conn_id -> JSON form) pointing at the platform's endpoints."""
    webhdfs, trino, source = urlsplit(s.webhdfs_url), urlsplit(s.trino_url), urlsplit(s.source_api_url)
    return {
        # host carries the whole master URL (local[*], spark://h:7077, yarn, k8s://...); the
        # provider only accepts a bare binary name, found on PATH (the venv's bin comes first)
        "spark_default": {
            "conn_type": "spark",
            "host": s.external.spark_master,
            "extra": {"spark-binary": spark_binary, "deploy-mode": "client"},
        },
        "webhdfs_default": {
            "conn_type": "webhdfs",
            "host": webhdfs.hostname,
            "port": webhdfs.port,
            "extra": {"use_ssl": webhdfs.scheme == "https"},
        },
        "trino_default": {
            "conn_type": "trino",
            "host": trino.hostname,
            "port": trino.port,
            "login": "airflow",
            "extra": {"protocol": trino.scheme},
        },
        "source_api": {
            "conn_type": "http",
            "host": source.hostname,
            "port": source.port,
            "schema": source.scheme,
        },
    }


def airflow_env(
    s: Settings,
    paths: Paths,
    *,
    secrets: Mapping[str, str],
    database_url: str,
    dags_folder: Path,
    bin_dir: Path,
    base_path: str = BASE_PATH,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of every Airflow process (pure: no I/O)."""
    home, logs = paths.data / "airflow", paths.logs / "airflow"
    port = s.ports.airflow
    env = {
        "AIRFLOW_HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{base_path}",  # spark-submit and task workers from the venv
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(s.airflow_parallelism),
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(secrets["AIRFLOW_FERNET_SEED"]),
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(paths)),
        # task workers are local children: reach the execution API on the bind address
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{s.bind_host}:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__API__HOST": s.bind_host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": s.airflow_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets["AIRFLOW_API_SECRET_KEY"],
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["AIRFLOW_JWT_SECRET"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(logs / "dag_processor"),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",  # new DAG files show up within 30 s
    }
    if not database_url.startswith("sqlite"):  # Airflow runs SQLite without a pool
        env.update({f"AIRFLOW__DATABASE__{key}": value for key, value in POOL.items()})
    for conn_id, conn in connections(s).items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn, sort_keys=True)
    return {**env, **(extra or {})}


def passwords_file(paths: Paths) -> Path:
    return paths.conf / "airflow" / "simple_auth_manager_passwords.json"


def health_probe(url: str, component: str | None) -> Probe:
    """The api-server answers; with ``component``, that entry of the health JSON is healthy too."""

    def check(body: Any) -> str | None:
        if component is None:
            return None
        if body["metadatabase"]["status"] != "healthy":
            return "airflow metadatabase unhealthy"
        entry = body[component]
        return None if entry["status"] == "healthy" else f"airflow {component}: {entry}"

    return http_probe(url, check=check)


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    secrets = {name: get_secret(paths.secrets_file, name, length=size) for name, size in SECRETS.items()}
    bin_dir = ctx.python_bin.parent
    database = postgres.sqlalchemy_url(s, postgres.AIRFLOW, postgres.password(paths, postgres.AIRFLOW))
    env = airflow_env(
        s,
        paths,
        secrets=secrets,
        database_url=database,
        dags_folder=REPO_ROOT / "dags",
        bin_dir=bin_dir,
        extra={**spark_env(ctx), "PYSPARK_PYTHON": str(ctx.python_bin)},
    )
    airflow = str(bin_dir / "airflow")
    health = f"http://{s.bind_host}:{s.ports.airflow}{HEALTH_PATH}"
    after_migrate = {"airflow-migrate": Condition.COMPLETED}
    common: dict[str, Any] = {"env": env, "group": GROUP, "setup": (spark_conf_dir,)}  # SparkSubmitOperator
    hint = f"see {ctx.log_file('airflow-api')} and {health}"
    daemons = [
        ServiceSpec(
            name="airflow-api",
            argv=(airflow, "api-server", "--host", s.bind_host, "--port", str(s.ports.airflow)),
            probe=health_probe(health, None),
            ports={"http": s.ports.airflow},
            depends_on=after_migrate,
            hint=hint,
            url=s.airflow_url,
            configs=(ConfigFile(PASSWORDS_TEMPLATE, passwords_file(paths), mode=0o600),),
            **common,
        ),
    ]
    for component, name in COMPONENTS.items():
        # --skip-serve-logs: the log server would bind 0.0.0.0:8793/8794; logs are local files
        skip = ("--skip-serve-logs",) if component != "dag_processor" else ()
        daemons.append(
            ServiceSpec(
                name=name,
                argv=(airflow, component.replace("_", "-"), *skip),
                probe=health_probe(health, component),
                depends_on={**after_migrate, "airflow-api": Condition.HEALTHY},
                hint=f"see {ctx.log_file(name)}; readiness is '{component}' in {health}",
                **common,
            )
        )
    migrate = ServiceSpec(
        name="airflow-migrate",
        argv=(airflow, "db", "migrate"),
        kind=Kind.ONESHOT,
        depends_on=postgres.depends(s),  # its database and role exist
        hint=f"see {ctx.log_file('airflow-migrate')}",
        **common,
    )
    return [migrate, *daemons]
