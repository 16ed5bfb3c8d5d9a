"""Render the docker compose stack's config files from the same settings and templates as the native stack.

``render_compose_configs(settings, out_dir)`` writes ``out_dir/<service>/...`` (mounted read-only by
``compose/docker-compose.yml``) from the native Jinja templates, with a settings copy in which each
service listens on ``0.0.0.0`` inside its container and reaches the others by their compose service
names. Secrets never land in these files: compose takes them from ``compose/.env`` (``${VAR:?}``).
Each of the repository's apps gets files of its own under ``apps/``, from the functions the native
specs use: ``ingest-api.env`` (``ingest.app_env``), ``streaming.env`` and ``streaming.args``
(``streaming.app_args``, an argparse ``@FILE``).

``python -m dataplat.compose_render [--env-file compose/.env] [--out compose/config]`` re-renders
after a port or heap change in ``.env`` (its ``DATAPLAT_*`` lines override ``dataplat.toml``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataplat.paths import Paths
from dataplat.render import render_text
from dataplat.services import airflow as airflow_service
from dataplat.services import hdfs as hdfs_service
from dataplat.services import ingest as ingest_service
from dataplat.services import streaming as streaming_service
from dataplat.services import trino as trino_service
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spark_conf import spark_conf
from dataplat.spec import Context

COMPOSE_DIR = REPO_ROOT / "compose"
DEFAULT_OUT = COMPOSE_DIR / "config"
ROOT = Path("/dataplat")  # data under ROOT/data (named volumes), rendered configs under ROOT/conf
ANY_ADDRESS = "0.0.0.0"  # inside a container; compose publishes on 127.0.0.1 only
LAKE_USER = "dataplat"  # HDFS simple-auth user of every client container (HADOOP_USER_NAME)
DAGS_FOLDER = Path("/opt/dataplat/dags")
CONNECTOR_JARS = "/opt/dataplat/jars/*.jar"  # Kafka/Avro connectors baked into the streaming image
AIRFLOW_SECRET_KEYS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)
SECRET_PROPERTY = re.compile(r"(?i)password|secret|jaas")  # Kafka client properties never rendered
HEADER = "# Rendered by dataplat.compose_render from the platform settings: re-render, do not edit.\n"

# compose service name of each endpoint's server (the datanode shares the namenode's network)
HOSTS = {
    "hdfs": "namenode",
    "metastore": "metastore",
    "kafka": "kafka",
    "registry": "registry",
    "trino": "trino",
    "airflow": "airflow-api",
    "source_api": "source-api",
}


@dataclass(frozen=True)
class ContainerPaths(Paths):
    """Paths inside a container; ``dist`` is where the image keeps its distribution (Trino plugins)."""

    dist_root: Path = Path("/usr/lib")
    scratch: Path | None = None  # where a secret asked for while rendering lands (then left out)

    @property
    def dist(self) -> Path:
        return self.dist_root

    @property
    def secrets_file(self) -> Path:
        if self.scratch is None:
            raise RuntimeError("compose files carry no secrets: render secrets through public_env()")
        return self.scratch / "secrets.env"


def container_settings(settings: Settings, host: str) -> Settings:
    """``settings`` as seen by the container ``host``: bind everywhere, peers by service name.

    Endpoints already set in ``external`` (a real cluster) are kept as they are.
    """
    p, ext = settings.ports, settings.external
    external = ext.model_copy(
        update={
            "hdfs_uri": ext.hdfs_uri or f"hdfs://{HOSTS['hdfs']}:{p.namenode_rpc}",
            "webhdfs_url": ext.webhdfs_url or f"http://{HOSTS['hdfs']}:{p.namenode_http}",
            "metastore_uri": ext.metastore_uri or f"thrift://{HOSTS['metastore']}:{p.metastore}",
            "kafka_bootstrap": ext.kafka_bootstrap or f"{HOSTS['kafka']}:{p.kafka}",
            "registry_url": ext.registry_url or f"http://{HOSTS['registry']}:{p.registry}/apis/ccompat/v7",
            "trino_url": ext.trino_url or f"http://{HOSTS['trino']}:{p.trino}",
        }
    )
    return settings.model_copy(
        update={"bind_host": ANY_ADDRESS, "advertised_host": host, "external": external, "home": ROOT}
    )


def container_context(
    settings: Settings, host: str, dist_root: Path = Path("/usr/lib"), scratch: Path | None = None
) -> Context:
    s = container_settings(settings, host)
    paths = ContainerPaths(home=ROOT, cache=ROOT / "cache", dist_root=dist_root, scratch=scratch)
    java = Path("/opt/java/openjdk")
    return Context(s, paths, java17=java, java_modern=java, python_bin=Path("/usr/local/bin/python"),
                   spark_home=None)  # fmt: skip


def env_text(env: Mapping[str, str]) -> str:
    """A compose ``env_file``: ``KEY=value`` lines (values never hold ``$``: nothing to interpolate)."""
    if any("$" in str(value) for value in env.values()):
        raise ValueError("a rendered env value holds '$'; compose would interpolate it")
    lines = [f"{key}={value}" for key, value in sorted(env.items())]
    return HEADER + "\n".join(lines) + "\n"


def _templates(ctx: Context, mapping: Mapping[str, str]) -> dict[str, str]:
    """``{target relative path: native template}`` rendered with ``ctx``."""
    return {target: render_text(template, ctx) for target, template in mapping.items()}


def hdfs_files(settings: Settings) -> dict[str, str]:
    ctx = container_context(settings, HOSTS["hdfs"])
    files = _templates(ctx, {f"hdfs/{name}": f"hdfs/{name}" for name in hdfs_service.TEMPLATES})
    dirs = [entry.split("=") for entry in hdfs_service.lake_dirs(ctx, LAKE_USER)]
    script = ["#!/bin/sh", HEADER.strip(), "set -eu", "hdfs dfs -mkdir -p " + " ".join(p for p, _ in dirs)]
    script += [f"hdfs dfs -chmod {mode} {path}" for path, mode in dirs]
    files["hdfs/lake-dirs.sh"] = "\n".join(script) + "\n"
    heaps = settings.heaps
    files["hdfs/jvm.env"] = env_text(
        {
            "HDFS_NAMENODE_OPTS": f"-Xmx{heaps.namenode}m -XX:+UseSerialGC",
            "HDFS_DATANODE_OPTS": f"-Xmx{heaps.datanode}m -XX:+UseSerialGC",
            "HADOOP_CLIENT_OPTS": "-Xmx128m",
            "HADOOP_CONF_DIR": str(ctx.paths.conf / "hdfs"),
            "HADOOP_USER_NAME": LAKE_USER,
        }
    )
    return files


def kafka_files(settings: Settings) -> dict[str, str]:
    ctx = container_context(settings, HOSTS["kafka"])
    files = _templates(ctx, {f"kafka/{n}": f"kafka/{n}" for n in ("server.properties", "log4j2.properties")})
    files["kafka/jvm.env"] = env_text(
        {
            "KAFKA_HEAP_OPTS": f"-Xmx{settings.heaps.kafka}m -Xms{settings.heaps.kafka}m",
            "KAFKA_LOG4J_OPTS": f"-Dlog4j2.configurationFile={ctx.paths.conf}/kafka/log4j2.properties",
        }
    )
    return files


def metastore_files(settings: Settings) -> dict[str, str]:
    ctx = container_context(settings, HOSTS["metastore"])
    names = ("hive-site.xml", "core-site.xml", "log4j2.properties")
    files = _templates(ctx, {f"metastore/{n}": f"metastore/{n}" for n in names})
    files["metastore/jvm.env"] = env_text(
        {
            "SERVICE_OPTS": f"-Xmx{settings.heaps.metastore}m -XX:+UseSerialGC",  # the image's entrypoint
            "METASTORE_PORT": str(settings.ports.metastore),
            "HIVE_CUSTOM_CONF_DIR": str(ctx.paths.conf / "metastore"),
        }
    )
    return files


NATIVE_ONLY_CATALOG = "catalog/postgresql.properties"


def trino_files(settings: Settings) -> dict[str, str]:
    ctx = container_context(settings, HOSTS["trino"])  # plugin.dir: the image's /usr/lib/trino/plugin
    files = _templates(
        ctx,
        {
            "trino/config.properties": "trino/config.properties",
            "trino/log.properties": "trino/log.properties",
            "trino/core-site.xml": "metastore/core-site.xml",  # hive.config.resources
        },
    )
    catalogs = trino_service.catalog_texts(ctx)
    catalogs.pop(NATIVE_ONLY_CATALOG, None)  # compose has no PostgreSQL (nor change data capture) yet
    files.update({f"trino/{name}": text for name, text in catalogs.items()})
    heap = settings.heaps.trino
    jvm = (f"-Xmx{heap}m", f"-Xms{min(heap, 256)}m", *trino_service.JVM_FLAGS)
    files["trino/jvm.config"] = "\n".join(jvm) + "\n"
    files["trino/node.properties"] = HEADER + "node.data-dir=/data/trino\n"  # the image's data volume
    return files


def spark_files(settings: Settings, consumer: str, host: str, *, connectors: bool) -> dict[str, str]:
    """``spark-defaults.conf``/``spark-env.sh`` for the Spark drivers running in container ``host``."""
    ctx = container_context(settings, host)
    conf = spark_conf(ctx.settings)
    conf.pop("spark.jars", None)  # the native stack's Maven folder; images carry their own
    if connectors:
        conf["spark.jars"] = CONNECTOR_JARS
    folder = f"spark-{consumer}"
    return {
        f"{folder}/spark-defaults.conf": render_text("spark/spark-defaults.conf", ctx, conf=conf),
        f"{folder}/spark-env.sh": render_text("spark/spark-env.sh", ctx),
    }


def airflow_files(settings: Settings) -> dict[str, str]:
    """``airflow/airflow.env``: :func:`dataplat.services.airflow.airflow_env`, secrets left to compose."""
    host = "airflow-scheduler"  # LocalExecutor: Spark drivers and task workers run in the scheduler
    ctx = container_context(settings, HOSTS["airflow"])
    placeholders = {name: "from-compose-env" for name in airflow_service.SECRETS}
    spark_dir = ctx.paths.conf / "spark-airflow"
    env = airflow_service.airflow_env(
        ctx.settings,
        ctx.paths,
        secrets=placeholders,
        # compose has no PostgreSQL container (yet): its Airflow keeps SQLite in the shared volume
        database_url=f"sqlite:///{ctx.paths.data / 'airflow' / 'airflow.db'}",
        dags_folder=DAGS_FOLDER,
        bin_dir=Path("/home/airflow/.local/bin"),
        extra={"SPARK_CONF_DIR": str(spark_dir), "PYSPARK_PYTHON": "python"},
    )
    for key in (*AIRFLOW_SECRET_KEYS, "PATH"):
        env.pop(key)
    port = settings.ports.airflow
    source = airflow_service.connections(container_settings(settings, HOSTS["source_api"]))["source_api"]
    env.update(
        {
            # the api-server is another container; the browser uses the published port
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOSTS['airflow']}:{port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            # in the shared volume, written by airflow-migrate from $AIRFLOW_ADMIN_PASSWORD
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                ctx.paths.data / "airflow" / "simple_auth_manager_passwords.json"
            ),
            "AIRFLOW_CONN_SOURCE_API": json.dumps(source, sort_keys=True),
            "HADOOP_USER_NAME": LAKE_USER,
        }
    )
    return {
        "airflow/airflow.env": env_text(env),
        **spark_files(settings, "airflow", host, connectors=False),
    }


def args_text(args: Sequence[str]) -> str:
    """An argparse ``@FILE``: one argument per line (the app reads it with ``fromfile_prefix_chars``)."""
    if any("\n" in arg for arg in args):
        raise ValueError("a rendered argument holds a newline; an @FILE has one argument per line")
    return "\n".join(args) + "\n"


def refuse_secret_properties(settings: Settings) -> None:
    """Kafka client properties land in committed files: a secret among them is refused, not written."""
    secret = [key for key in settings.kafka_client.properties if SECRET_PROPERTY.search(key)]
    if secret:
        raise ValueError(
            f"kafka_client.properties {secret} look like secrets; compose/config is committed, so "
            "compose-render does not write them (give the containers a client config of their own)"
        )


def public_env(
    app_env: Callable[[Context], dict[str, str]], settings: Settings, host: str
) -> tuple[dict[str, str], list[str]]:
    """``app_env`` of the container ``host`` and the names of the secrets it held, left out.

    A secret the function reads is generated into a scratch secrets file (thrown away) and
    recognised by its value; compose passes it from ``.env`` as a required ``${VAR:?}`` instead.
    """
    with tempfile.TemporaryDirectory(prefix="compose-render-") as scratch:
        ctx = container_context(settings, host, scratch=Path(scratch))
        env = app_env(ctx)
        secrets_file = ctx.paths.secrets_file
        generated = set(read_env_file(secrets_file).values()) if secrets_file.exists() else set()
    secrets = sorted(key for key, value in env.items() if value in generated)
    return {key: value for key, value in env.items() if key not in secrets}, secrets


def ingest_files(settings: Settings) -> dict[str, str]:
    """``apps/ingest-api.env``: :func:`dataplat.services.ingest.app_env` without its secrets (the API
    key comes from compose's ``.env``) or the multi-worker metrics folder (one worker a container)."""
    refuse_secret_properties(settings)
    env, _ = public_env(ingest_service.app_env, settings, "ingest-api")
    env.pop(ingest_service.METRICS_DIR_ENV, None)
    return {"apps/ingest-api.env": env_text(env)}


def streaming_files(settings: Settings) -> dict[str, str]:
    """``apps/streaming.env`` and the app's options as ``apps/streaming.args`` (``app_args``)."""
    refuse_secret_properties(settings)
    ctx = container_context(settings, "streaming")
    env = {"SPARK_CONF_DIR": str(ctx.paths.conf / "spark-streaming"), "HADOOP_USER_NAME": LAKE_USER}
    return {
        "apps/streaming.env": env_text(env),
        "apps/streaming.args": args_text(streaming_service.app_args(ctx)),
        **spark_files(settings, "streaming", "streaming", connectors=True),
    }


def compose_files(settings: Settings) -> dict[str, str]:
    """Every rendered file, by path relative to the output folder (I/O: templates, a scratch folder)."""
    files: dict[str, str] = {}
    parts = (
        hdfs_files,
        kafka_files,
        metastore_files,
        trino_files,
        airflow_files,
        ingest_files,
        streaming_files,
    )
    for part in parts:
        files.update(part(settings))
    return files


def render_compose_configs(settings: Settings, out_dir: Path) -> list[Path]:
    """Write :func:`compose_files` under ``out_dir`` (only changed files); returns the written paths."""
    written = []
    for relative, text in sorted(compose_files(settings).items()):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
        target.chmod(0o755 if target.suffix == ".sh" else 0o644)
    return written


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a compose ``.env`` (comments and blank lines skipped, no expansion)."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip().strip("'\"")
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dataplat.compose_render", description=__doc__)
    parser.add_argument("--env-file", type=Path, default=COMPOSE_DIR / ".env")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.env_file.exists():
        for key, value in read_env_file(args.env_file).items():
            if key.startswith("DATAPLAT_"):
                os.environ.setdefault(key, value)
    for path in render_compose_configs(Settings(), args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
