"""Render the docker compose stack's config files from the same settings and templates as the native stack.

``render_compose_configs(settings, out_dir)`` writes ``out_dir/<service>/...`` (mounted read-only by
``compose/docker-compose.yml``) from the native Jinja templates, with a settings copy in which each
service listens on ``0.0.0.0`` inside its container and reaches the others by their compose service
names. Secrets never land in these files: compose takes them from ``compose/.env`` (``${VAR:?}``).
Each of the repository's apps gets files of its own under ``apps/``, from the functions the native
specs use: ``ingest-api.env`` (``ingest.app_env``), ``streaming.env`` and ``streaming.args``
(``streaming.app_args``, an argparse ``@FILE``), ``cdc.env`` and ``cdc.args`` (``cdc.app_args``).
Change data capture's services take theirs from the native modules too: PostgreSQL's
``postgresql.conf``/``pg_hba.conf``/``pg_ident.conf`` templates, ``initdb`` with the native flags and
the ``postgres-setup`` steps for the operational database as a psql script; Kafka Connect's
``worker.properties`` and its native ``java`` command line as a ``java @FILE``.

``python -m dataplat.compose_render [--env-file compose/.env] [--out compose/config]`` re-renders
after a port or heap change in ``.env`` (its ``DATAPLAT_*`` lines override ``dataplat.toml``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from dataplat.paths import Paths
from dataplat.render import render_text, render_texts
from dataplat.services import airflow as airflow_service
from dataplat.services import cdc as cdc_service
from dataplat.services import connect as connect_service
from dataplat.services import hdfs as hdfs_service
from dataplat.services import ingest as ingest_service
from dataplat.services import postgres as postgres_service
from dataplat.services import streaming as streaming_service
from dataplat.services import trino as trino_service
from dataplat.settings import REPO_ROOT, Settings
from dataplat.setup import connect as connect_setup
from dataplat.setup import postgres as postgres_setup
from dataplat.spark_conf import iceberg_conf, spark_conf
from dataplat.spec import Context, ServiceSpec

COMPOSE_DIR = REPO_ROOT / "compose"
DEFAULT_OUT = COMPOSE_DIR / "config"
ROOT = Path("/dataplat")  # data under ROOT/data (named volumes), rendered configs under ROOT/conf
ANY_ADDRESS = "0.0.0.0"  # inside a container; compose publishes on 127.0.0.1 only
LAKE_USER = "dataplat"  # HDFS simple-auth user of every client container (HADOOP_USER_NAME)
DAGS_FOLDER = Path("/opt/dataplat/dags")
CONNECTOR_JARS = "/opt/dataplat/jars/*.jar"  # Kafka/Avro/Iceberg jars baked into the Spark app images
CONNECT_DIST = Path("/opt/dataplat")  # the connect image's dist root: connect/lib, connect/plugins
PIPELINES = Path("/opt/dataplat/pipelines")  # ../pipelines, mounted read-only (connectors, schema.sql)
CDC_HEARTBEAT = Path("/var/lib/cdc/heartbeat.json")  # in the cdc volume (docker-compose.yml)
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # names the psql setup script quotes
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
    "postgres": "postgres",
    "connect": "connect",
}
T = TypeVar("T")


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
            "postgres_host": ext.postgres_host or HOSTS["postgres"],
            "postgres_port": ext.postgres_port if ext.postgres_host else p.postgres,
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
    # postgresql.properties names its password as ${ENV:...}: compose passes it from .env to Trino
    catalogs = trino_service.catalog_texts(ctx)
    files.update({f"trino/{name}": text for name, text in catalogs.items()})
    heap = settings.heaps.trino
    jvm = (f"-Xmx{heap}m", f"-Xms{min(heap, 256)}m", *trino_service.JVM_FLAGS)
    files["trino/jvm.config"] = "\n".join(jvm) + "\n"
    files["trino/node.properties"] = HEADER + "node.data-dir=/data/trino\n"  # the image's data volume
    return files


def spark_files(
    settings: Settings,
    consumer: str,
    host: str,
    *,
    connectors: bool,
    iceberg: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``spark-defaults.conf``/``spark-env.sh`` for the Spark drivers running in container ``host``.

    ``iceberg``: the catalog ``iceberg`` (its runtime jar is among the image's connector jars);
    ``extra``: properties the native service passes to ``spark-submit`` (``--conf``, ``--name``).
    """
    ctx = container_context(settings, host)
    conf = spark_conf(ctx.settings)
    conf.pop("spark.jars", None)  # the native stack's Maven folder; images carry their own
    if connectors:
        conf["spark.jars"] = CONNECTOR_JARS
    if iceberg:
        conf |= iceberg_conf(ctx.settings)
    conf |= extra or {}
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


def with_scratch_secrets(
    render: Callable[[Context], T], settings: Settings, host: str, dist_root: Path = Path("/usr/lib")
) -> tuple[T, set[str]]:
    """``render`` of the container ``host``, and the values of the secrets it asked for.

    A secret read while rendering is generated into a scratch secrets file (thrown away); its value
    lets the caller recognise it and leave it out.
    """
    with tempfile.TemporaryDirectory(prefix="compose-render-") as scratch:
        ctx = container_context(settings, host, dist_root=dist_root, scratch=Path(scratch))
        result = render(ctx)
        secrets_file = ctx.paths.secrets_file
        generated = set(read_env_file(secrets_file).values()) if secrets_file.exists() else set()
    return result, generated


def public_env(
    app_env: Callable[[Context], dict[str, str]], settings: Settings, host: str
) -> tuple[dict[str, str], list[str]]:
    """``app_env`` of the container ``host`` and the names of the secrets it held, left out.

    A secret the function reads is recognised by its generated value; compose passes it from
    ``.env`` as a required ``${VAR:?}`` instead.
    """
    env, generated = with_scratch_secrets(app_env, settings, host)
    return without_secrets(env, generated)


def without_secrets(env: Mapping[str, str], generated: set[str]) -> tuple[dict[str, str], list[str]]:
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


# --- change data capture: PostgreSQL, Kafka Connect, the cdc app -----------------------------------
def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (its case kept, as psycopg2's ``sql.Identifier``)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def postgres_files(settings: Settings) -> dict[str, str]:
    """The server's configs (native templates), ``initdb.sh``, ``setup.sql`` and ``setup.env``.

    ``pg_ident.conf`` maps the image's OS user ``postgres`` to the superuser (peer auth on the socket),
    not the rendering machine's user as natively.
    """
    ctx = container_context(settings, HOSTS["postgres"])
    s, superuser = ctx.settings, postgres_service.SUPERUSER
    template_vars = {
        "superuser": superuser,
        "peer_users": [superuser],  # the official image's OS user of the same name (uid 999)
        "loopback": postgres_service.is_loopback(s.bind_host),
    }
    files = {
        f"postgres/{name}": render_text(f"postgres/{name}", ctx, **template_vars)
        for name in postgres_service.TEMPLATES
    }
    files["postgres/initdb.sh"] = initdb_script(postgres_service.data_dir(ctx.paths), superuser)
    files["postgres/setup.env"] = env_text(
        {
            "PGHOST": s.postgres_host,
            "PGPORT": str(s.postgres_port),
            "PGUSER": superuser,
            "PGDATABASE": "postgres",
            "PGCONNECT_TIMEOUT": "5",
        }
    )
    files["postgres/setup.sql"] = cdc_setup_sql(s)
    return files


def initdb_script(data: Path, superuser: str) -> str:
    """``postgres-init``: initdb once with the native flags, the superuser's password on stdin."""
    argv = postgres_setup.initdb_argv(postgres_service.PG_BIN, data, superuser, Path("/dev/stdin"))
    lines = [
        "#!/bin/sh",
        HEADER.strip(),
        "set -eu",
        f"if [ -f {data}/PG_VERSION ]; then",
        f'  echo "postgres-init: {data} already holds a cluster"',
        "  exit 0",
        "fi",
        f"printf '%s\\n' \"${postgres_service.SUPERUSER_SECRET}\" | {shlex.join(argv)}",
    ]
    return "\n".join(lines) + "\n"


def cdc_source(s: Settings) -> postgres_setup.CdcSource:
    """The operational database as ``postgres-setup``'s ``--cdc-*`` options describe it natively."""
    cdc = s.cdc
    source = postgres_setup.CdcSource(
        database=cdc.database,
        schema=cdc.schema_name,
        tables=tuple(cdc.tables),
        heartbeat=cdc.heartbeat_table,
        signal=cdc.signal_table,
        publication=cdc.publication,
        role=cdc.replication_role,
        schema_file=postgres_service.cdc_schema_file(s),
    )
    names = (source.database, source.schema, *source.published, source.publication, source.role)
    if odd := [name for name in names if not PLAIN_NAME.fullmatch(name)]:
        raise ValueError(f"[cdc] names {odd} are not plain identifiers (the compose setup script's rule)")
    return source


def create_missing(statement: str, catalog: str, column: str, name: str) -> str:
    """psql: run ``statement`` when ``catalog`` has no row whose ``column`` is ``name``."""
    exists = f"SELECT FROM {catalog} WHERE {column} = {literal(name)}"
    return f"SELECT {literal(statement)} WHERE NOT EXISTS ({exists}) \\gexec"


def cdc_setup_sql(s: Settings) -> str:
    """``postgres-setup``'s work for the operational database as a psql script (pure).

    What :func:`dataplat.setup.postgres.setup_cdc` does natively, step by step: the database and its
    owner role, the replication role, then in one transaction as the owner the schema file, the
    heartbeat and signal tables, the primary-key check, the grants and the publication (created, or
    its table list set when it differs). Passwords come from the environment (psql's ``\\getenv``).
    """
    source = cdc_source(s)
    owner = postgres_service.cdc_database(s)
    secrets = {
        "owner_password": owner.password_secret,
        "replicator_password": postgres_service.REPLICATOR_SECRET,
    }

    def table(name: str) -> str:
        return f"{ident(source.schema)}.{ident(name)}"

    def array(items: Sequence[str]) -> str:
        return "ARRAY[" + ", ".join(literal(item) for item in items) + "]::text[]"

    published = ", ".join(table(name) for name in source.published)
    role, db, pub = ident(source.role), ident(source.database), ident(source.publication)
    relations = (
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE n.nspname = {literal(source.schema)} AND c.relkind IN ('r', 'p')"
    )
    lines = [
        "--" + HEADER.strip().removeprefix("#"),
        f"-- postgres-setup, every `up` (a rerun changes nothing but the passwords): {source.database},",
        "-- the database change data capture reads, readied as dataplat.setup.postgres does natively. Run",
        "-- by psql as the superuser; passwords come from the environment, never from this file, and this",
        "-- session's statements stay out of the server's log.",
        "\\set ON_ERROR_STOP on",
        "SET log_statement = 'none';",
        "SET log_min_duration_statement = -1;",
        "SET log_min_error_statement = 'panic';",
    ]
    for variable, env_name in secrets.items():
        lines += [
            f"\\getenv {variable} {env_name}",
            f"\\if :{{?{variable}}}",
            "\\else",
            f"DO $$ BEGIN RAISE EXCEPTION 'postgres-setup: {env_name} is not set'; END $$;",
            "\\endif",
        ]
    lines += [
        "",
        "-- the database and its owner role (same name)",
        create_missing(f"CREATE ROLE {ident(owner.role)}", "pg_roles", "rolname", owner.role),
        f"ALTER ROLE {ident(owner.role)} LOGIN PASSWORD :'owner_password';",
        create_missing(
            f"CREATE DATABASE {db} OWNER {ident(owner.role)} ENCODING 'UTF8'",
            "pg_database",
            "datname",
            source.database,
        ),
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
        "",
        "-- the replication role Debezium logs in as",
        create_missing(f"CREATE ROLE {role}", "pg_roles", "rolname", source.role),
        f"ALTER ROLE {role} LOGIN REPLICATION PASSWORD :'replicator_password';",
        "",
        "-- in the database, in one transaction, as its owner",
        f"\\connect {literal(source.database)}",
        "BEGIN;",
        f"SET LOCAL ROLE {ident(owner.role)};",
        f"CREATE SCHEMA IF NOT EXISTS {ident(source.schema)};",
        f"SET LOCAL search_path TO {ident(source.schema)};",
    ]
    if source.schema_file is not None:  # ../pipelines is mounted at PIPELINES
        mounted = PIPELINES / source.schema_file.relative_to(REPO_ROOT / "pipelines")
        lines.append(f"\\i {literal(str(mounted))}")
    lines += [
        postgres_setup.HEARTBEAT_DDL.format(table(source.heartbeat)) + ";",
        postgres_setup.SIGNAL_DDL.format(table(source.signal)) + ";",
        "-- every published table exists and has a primary key (change events are keyed by it)",
        "DO $$",
        "DECLARE",
        "  missing text;",
        "  keyless text;",
        "BEGIN",
        "  SELECT string_agg(t, ', ' ORDER BY t) INTO missing",
        f"    FROM unnest({array(source.published)}) AS t",
        f"   WHERE NOT EXISTS (SELECT {relations} AND c.relname = t);",
        "  SELECT string_agg(c.relname::text, ', ' ORDER BY c.relname) INTO keyless",
        f"    {relations}",
        f"     AND c.relname = ANY({array(source.published)})",
        "     AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary);",
        "  IF missing IS NOT NULL OR keyless IS NOT NULL THEN",
        f"    RAISE EXCEPTION 'change data capture in {source.database}, schema {source.schema}: %',",
        "      concat_ws('; ', 'no such tables: ' || missing, 'tables without a primary key: ' || keyless)",
        "      USING HINT = 'create them with a primary key, or remove them from [cdc] tables';",
        "  END IF;",
        "END",
        "$$;",
        f"GRANT CONNECT ON DATABASE {db} TO {role};",
        f"GRANT USAGE ON SCHEMA {ident(source.schema)} TO {role};",
        f"GRANT SELECT ON TABLE {published} TO {role};",
        f"GRANT INSERT, UPDATE ON TABLE {table(source.heartbeat)} TO {role};",
        f"GRANT INSERT ON TABLE {table(source.signal)} TO {role};",
        "-- the publication of exactly these tables: created, or its table list set when it differs",
        "WITH present AS (",
        "  SELECT coalesce(array_agg(schemaname || '.' || tablename), '{}'::text[]) AS tables",
        f"    FROM pg_publication_tables WHERE pubname = {literal(source.publication)}",
        f"), wanted AS (SELECT {array([f'{source.schema}.{name}' for name in source.published])} AS tables)",
        "SELECT CASE",
        f"  WHEN NOT EXISTS (SELECT FROM pg_publication WHERE pubname = {literal(source.publication)})",
        f"  THEN {literal(f'CREATE PUBLICATION {pub} FOR TABLE {published}')}",
        "  WHEN NOT (present.tables @> wanted.tables AND wanted.tables @> present.tables)",
        f"  THEN {literal(f'ALTER PUBLICATION {pub} SET TABLE {published}')}",
        "  END",
        "FROM present, wanted \\gexec",
        "COMMIT;",
        f"\\echo 'postgres-setup: {source.database} ready (captured: {', '.join(source.tables)};"
        f" publication {source.publication}; replication role {source.role})'",
    ]
    return "\n".join(lines) + "\n"


def connect_worker(settings: Settings) -> tuple[ServiceSpec, set[str]]:
    """The native ``connect`` spec as the container ``connect`` sees it (dist under the image's
    /opt/dataplat), and the secret values it read. Compose runs its own worker, so an
    ``external.connect_url`` (natively: no worker here) does not apply to it."""
    external = settings.external.model_copy(update={"connect_url": None})
    view = settings.model_copy(update={"external": external})

    def worker(ctx: Context) -> ServiceSpec:
        return next(spec for spec in connect_service.specs(ctx) if spec.name == "connect")

    return with_scratch_secrets(worker, view, HOSTS["connect"], dist_root=CONNECT_DIST)


def java_args_text(args: Sequence[str]) -> str:
    """A ``java @FILE``: one argument per line, none holding a space, a quote or a ``#``."""
    if any(re.search(r"[\s'\"#]", arg) for arg in args):
        raise ValueError(f"a java argument needs quoting in an @FILE: {args}")
    return "\n".join(args) + "\n"


def connect_files(settings: Settings) -> dict[str, str]:
    """The worker's ``worker.properties``/``log4j2.properties`` (native templates), its native java
    command line as ``java.args`` (the image runs ``java @java.args``), ``connect.env`` (the
    ``CDC_PG_*`` values connector files name, without the password) and ``connect-setup.env``."""
    refuse_secret_properties(settings)  # [kafka_client] properties go into worker.properties
    spec, generated = connect_worker(settings)
    if any(value in arg for value in generated for arg in spec.argv):
        raise RuntimeError("the connect worker's command line holds a secret")
    ctx = container_context(settings, HOSTS["connect"], dist_root=CONNECT_DIST)
    files = render_texts(spec.configs, ctx, ctx.paths.conf)
    files["connect/java.args"] = java_args_text(spec.argv[1:])  # without the java binary
    env, _ = without_secrets(spec.env, generated)
    files["connect/connect.env"] = env_text(env)
    files["connect/connect-setup.env"] = env_text(
        {
            "CONNECT_URL": container_settings(settings, HOSTS["connect"]).connect_url,
            "CONNECTOR_FILES": str(PIPELINES / connect_setup.CONNECTOR_FILES),
            "CONNECT_SETUP_TIMEOUT_S": f"{connect_setup.TIMEOUT_S:g}",
            "CONNECT_SETUP_MAX_RESTARTS": str(connect_setup.MAX_RESTARTS),
        }
    )
    return files


def submit_conf(argv: Sequence[str], app: Path) -> dict[str, str]:
    """The Spark properties a native ``spark-submit`` argv sets before its app (``--name``, ``--conf``)."""
    options = list(argv[1 : list(argv).index(str(app))])
    conf = {}
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "--name":
            conf["spark.app.name"] = value
        elif flag == "--conf":
            key, _, setting = value.partition("=")
            conf[key] = setting
        else:
            raise ValueError(f"spark-submit option {flag} has no spark-defaults.conf form")
    return conf


def cdc_files(settings: Settings) -> dict[str, str]:
    """``apps/cdc.env``, the app's options as ``apps/cdc.args`` (``cdc.app_args``) and its Spark
    defaults: the native spec's ``--conf`` values (driver heap ``heaps.cdc_driver``, its JVM caps)
    plus the catalog ``iceberg``."""
    refuse_secret_properties(settings)
    ctx = container_context(settings, "cdc")
    [spec] = cdc_service.specs(ctx)
    env = {
        "SPARK_CONF_DIR": str(ctx.paths.conf / "spark-cdc"),
        "HADOOP_USER_NAME": LAKE_USER,
        "MALLOC_ARENA_MAX": spec.env["MALLOC_ARENA_MAX"],
    }
    extra = submit_conf(spec.argv, cdc_service.APP)
    return {
        "apps/cdc.env": env_text(env),
        "apps/cdc.args": args_text(cdc_service.app_args(ctx)),
        **spark_files(settings, "cdc", "cdc", connectors=True, iceberg=True, extra=extra),
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
        postgres_files,
        connect_files,
        cdc_files,
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
