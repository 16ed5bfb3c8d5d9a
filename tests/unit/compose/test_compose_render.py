"""The compose stack's configs come from the native settings and templates, and are up to date."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataplat import compose_render
from dataplat.services import cdc, connect, ingest, postgres
from dataplat.services.streaming import app_args
from dataplat.settings import REPO_ROOT, External, Heaps, KafkaClient, Ports, Settings
from dataplat.setup import connect as connect_setup
from dataplat.setup import postgres as postgres_setup
from spark_apps.clickstream.app import parse_args
from tests.unit.compose.conftest import COMPOSE_DIR


def test_committed_configs_are_the_rendered_defaults(default_settings: Settings) -> None:
    """compose/config is exactly what the defaults render (run `python -m dataplat.compose_render`)."""
    expected = compose_render.compose_files(default_settings)
    folder = COMPOSE_DIR / "config"
    committed = {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert set(committed) == set(expected)
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert not stale, f"stale rendered configs: {stale}; re-run python -m dataplat.compose_render"


def test_services_reach_each_other_by_compose_name(default_settings: Settings) -> None:
    files = compose_render.compose_files(default_settings)
    assert "fs.defaultFS</name><value>hdfs://namenode:8020<" in files["hdfs/core-site.xml"]
    assert "hive.metastore.uri=thrift://metastore:9083" in files["trino/catalog/hive.properties"]
    assert "advertised.listeners=PLAINTEXT://kafka:9092" in files["kafka/server.properties"]
    assert "controller.quorum.voters=1@kafka:9093" in files["kafka/server.properties"]
    assert "hdfs://namenode:8020/lake/warehouse" in files["metastore/hive-site.xml"]
    assert "--registry-url\nhttp://registry:8081/apis/ccompat/v7\n" in files["apps/streaming.args"]
    assert "INGEST_REGISTRY_URL=http://registry:8081/apis/ccompat/v7" in files["apps/ingest-api.env"]
    assert "INGEST_BIND_HOST=0.0.0.0" in files["apps/ingest-api.env"]
    assert "plugin.dir=/usr/lib/trino/plugin" in files["trino/config.properties"]
    assert (
        "connection-url=jdbc:postgresql://postgres:5432/condo" in files["trino/catalog/postgresql.properties"]
    )
    assert "CDC_PG_HOST=postgres\nCDC_PG_PORT=5432\n" in files["connect/connect.env"]
    assert "bootstrap.servers=kafka:9092" in files["connect/worker.properties"]
    assert "listeners=http://0.0.0.0:8083" in files["connect/worker.properties"]
    assert "rest.advertised.host.name=connect" in files["connect/worker.properties"]
    assert "CONNECT_URL=http://connect:8083" in files["connect/connect-setup.env"]
    assert "PGHOST=postgres\n" in files["postgres/setup.env"]
    assert "--bootstrap-servers\nkafka:9092\n" in files["apps/cdc.args"]
    assert "spark.sql.catalog.iceberg.uri  thrift://metastore:9083" in files["spark-cdc/spark-defaults.conf"]
    # pg_hba.conf lists the loopback addresses it accepts; nothing else names one
    endpoints = {name: text for name, text in files.items() if name != "postgres/pg_hba.conf"}
    assert "127.0.0.1" not in "".join(endpoints.values())


def test_kafka_table_descriptions_are_where_the_dlq_catalog_looks(default_settings: Settings) -> None:
    """The FILE-supplied Kafka catalog finds a description for every table it lists."""
    files = compose_render.compose_files(default_settings)
    catalog = dict(
        line.split("=", 1) for line in files["trino/catalog/kafka_dlq.properties"].splitlines() if "=" in line
    )
    mount = "/dataplat/conf/trino/"  # ./config/trino in docker-compose.yml
    folder = "trino/" + catalog["kafka.table-description-dir"].removeprefix(mount)
    for table in catalog["kafka.table-names"].split(","):
        description = files[f"{folder}/{table.split('.', 1)[1]}.json"]
        assert f'"topicName": "{table.split(".", 1)[1].replace("_dlq", ".dlq")}"' in description


def test_ports_and_heaps_follow_the_settings(default_settings: Settings) -> None:
    s = default_settings.model_copy(update={"ports": Ports(trino=9080, kafka=19092)})
    files = compose_render.compose_files(s)
    assert "http-server.http.port=9080" in files["trino/config.properties"]
    assert "listeners=PLAINTEXT://0.0.0.0:19092," in files["kafka/server.properties"]
    assert f"-Xmx{s.heaps.trino}m" in files["trino/jvm.config"]
    assert f"KAFKA_HEAP_OPTS=-Xmx{s.heaps.kafka}m" in files["kafka/jvm.env"]


def test_external_endpoints_are_kept(default_settings: Settings) -> None:
    external = External(
        kafka_bootstrap="b1.example:9092,b2.example:9092", spark_master="spark://m.example:7077"
    )
    s = default_settings.model_copy(update={"external": external})
    files = compose_render.compose_files(s)
    assert "--bootstrap-servers\nb1.example:9092,b2.example:9092\n" in files["apps/streaming.args"]
    assert "INGEST_KAFKA_BOOTSTRAP=b1.example:9092,b2.example:9092" in files["apps/ingest-api.env"]
    assert "spark.master  spark://m.example:7077" in files["spark-streaming/spark-defaults.conf"]


def test_streaming_options_are_the_native_app_args(default_settings: Settings, tmp_path: Path) -> None:
    """One rendering: the args file is ``app_args`` of the container's view, and the app accepts it."""
    s = default_settings.model_copy(
        update={"kafka_client": KafkaClient(properties={"security.protocol": "SSL"})}
    )
    text = compose_render.compose_files(s)["apps/streaming.args"]
    ctx = compose_render.container_context(s, "streaming")
    assert text.splitlines() == list(app_args(ctx))
    (tmp_path / "streaming.args").write_text(text)
    args = parse_args([f"@{tmp_path / 'streaming.args'}"])
    assert args.bootstrap_servers == "kafka:9092" and args.kafka_properties == {"security.protocol": "SSL"}
    assert args.checkpoint == "hdfs://namenode:8020/lake/_checkpoints/clickstream"
    assert args.trino_url == "http://trino:8080" and args.hdfs_uri == "hdfs://namenode:8020"


def test_secret_kafka_properties_are_refused(default_settings: Settings) -> None:
    secret = KafkaClient(properties={"sasl.password": "hunter2"})
    with pytest.raises(ValueError, match=r"sasl\.password"):
        compose_render.compose_files(default_settings.model_copy(update={"kafka_client": secret}))


def test_no_secret_is_rendered(default_settings: Settings) -> None:
    files = compose_render.compose_files(default_settings)
    airflow_env = files["airflow/airflow.env"]
    for key in compose_render.AIRFLOW_SECRET_KEYS:
        assert f"{key}=" not in airflow_env
    # a password is only ever named: an environment variable (Trino's ${ENV:...}) or a psql variable
    # set from one (setup.sql's \\getenv)
    for match in re.finditer(r"(?i)password\s*[=:](.*)", "".join(files.values())):
        reference = match.group(1).strip()
        assert re.fullmatch(r"\$\{ENV:[A-Z0-9_]+\}|'[a-z_]+';", reference), match.group(0)


def test_app_secrets_are_left_to_compose(default_settings: Settings, services: dict[str, Any]) -> None:
    """The ingest API key is in the native app_env, not in its rendered file: compose requires it."""
    env, secrets = compose_render.public_env(ingest.app_env, default_settings, "ingest-api")
    assert secrets == [ingest.API_KEY_SECRET] and ingest.API_KEY_SECRET not in env
    rendered = compose_render.compose_files(default_settings)["apps/ingest-api.env"]
    assert f"{ingest.API_KEY_SECRET}=" not in rendered and ingest.METRICS_DIR_ENV not in rendered
    required = services["ingest-api"]["environment"][ingest.API_KEY_SECRET]
    assert re.fullmatch(r"\$\{INGEST_API_KEY:\?[^}]+\}", required)


def test_render_writes_only_changes(default_settings: Settings, tmp_path: Path) -> None:
    first = compose_render.render_compose_configs(default_settings, tmp_path)
    assert (tmp_path / "trino" / "catalog" / "hive.properties").is_file()
    assert (tmp_path / "hdfs" / "lake-dirs.sh").stat().st_mode & 0o111
    assert first and compose_render.render_compose_configs(default_settings, tmp_path) == []


def test_env_file_reader(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\n\nDATAPLAT_PORTS__TRINO=9080\nSECRET='x=y'\n")
    assert compose_render.read_env_file(env) == {"DATAPLAT_PORTS__TRINO": "9080", "SECRET": "x=y"}


# --- change data capture --------------------------------------------------------------------------
def test_the_postgresql_catalog_is_rendered_with_its_password_from_compose(
    default_settings: Settings, services: dict[str, Any]
) -> None:
    catalog = compose_render.compose_files(default_settings)["trino/catalog/postgresql.properties"]
    assert "connector.name=postgresql" in catalog
    assert "connection-user=condo" in catalog
    [name] = re.findall(r"connection-password=\$\{ENV:([A-Z0-9_]+)\}", catalog)
    assert name == postgres.cdc_database(default_settings).password_secret
    assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", services["trino"]["environment"][name])


def test_connect_runs_the_native_java_command(default_settings: Settings) -> None:
    """java.args is the native worker's argv (heap from the settings) with the image's dist folder."""
    s = default_settings.model_copy(update={"heaps": Heaps(connect=640)})
    files = compose_render.compose_files(s)
    spec, _ = compose_render.connect_worker(s)
    args = files["connect/java.args"].splitlines()
    assert args == list(spec.argv[1:]) and spec.argv[0].endswith("/bin/java")
    assert args[:2] == ["-Xmx640m", f"-Xms{connect.INITIAL_HEAP_MB}m"]
    assert args[args.index("-cp") + 1] == "/opt/dataplat/connect/lib/*"
    assert args[-2:] == [connect.MAIN, "/dataplat/conf/connect/worker.properties"]
    assert "-Dlog4j2.configurationFile=/dataplat/conf/connect/log4j2.properties" in args
    assert "plugin.path=/opt/dataplat/connect/plugins" in files["connect/worker.properties"]


def test_connect_takes_the_replication_password_from_compose(
    default_settings: Settings, services: dict[str, Any]
) -> None:
    """connect.env holds every ${env:CDC_PG_*} the connector files name but the password, which compose
    passes from .env under the native secret's name."""
    env = compose_render.compose_files(default_settings)["connect/connect.env"]
    assert "CDC_PG_PASSWORD" not in env
    rendered = set(re.findall(r"^([A-Z_]+)=", env, re.M))
    given = set(services["connect"]["environment"])
    assert given == {"CDC_PG_PASSWORD"}
    assert services["connect"]["environment"]["CDC_PG_PASSWORD"].startswith(
        "${" + postgres.REPLICATOR_SECRET + ":?"
    )
    for connector in connect_setup.connector_files():
        named = {m for value in connector.config.values() for m in re.findall(r"\$\{env:(\w+)\}", value)}
        assert named <= rendered | given, f"{connector.source}: {named - rendered - given} not set"


def test_connect_setup_env_follows_the_native_step(default_settings: Settings) -> None:
    env = compose_render.compose_files(default_settings)["connect/connect-setup.env"]
    assert f"CONNECT_SETUP_MAX_RESTARTS={connect_setup.MAX_RESTARTS}\n" in env
    assert f"CONNECT_SETUP_TIMEOUT_S={connect_setup.TIMEOUT_S:g}\n" in env
    pattern = re.search(r"^CONNECTOR_FILES=(.+)$", env, re.M).group(1)  # type: ignore[union-attr]
    mounted = compose_render.PIPELINES
    assert pattern == f"{mounted}/{connect_setup.CONNECTOR_FILES}"
    external = default_settings.model_copy(
        update={"external": External(connect_url="http://connect.example:8083")}
    )
    files = compose_render.compose_files(external)
    assert "CONNECT_URL=http://connect.example:8083" in files["connect/connect-setup.env"]
    assert files["connect/java.args"]  # compose still runs its own worker


def test_cdc_options_are_the_native_app_args(default_settings: Settings, tmp_path: Path) -> None:
    from spark_apps.cdc.options import parse_args as cdc_parse_args

    text = compose_render.compose_files(default_settings)["apps/cdc.args"]
    ctx = compose_render.container_context(default_settings, "cdc")
    assert text.splitlines() == list(cdc.app_args(ctx))
    (tmp_path / "cdc.args").write_text(text)
    args = cdc_parse_args([f"@{tmp_path / 'cdc.args'}"])
    assert args.bootstrap_servers == "kafka:9092" and args.catalog == "iceberg"
    assert args.checkpoint == "hdfs://namenode:8020/lake/_checkpoints/cdc"
    assert args.tables == default_settings.cdc.tables and args.database == default_settings.cdc.database


def test_cdc_spark_defaults_are_the_native_submit_conf(default_settings: Settings) -> None:
    """The native spark-submit --conf values (driver heap heaps.cdc_driver, its JVM caps) and the catalog."""
    s = default_settings.model_copy(update={"heaps": Heaps(cdc_driver=768)})
    files = compose_render.compose_files(s)
    conf = dict(
        line.split("  ", 1) for line in files["spark-cdc/spark-defaults.conf"].splitlines() if "  " in line
    )
    assert conf["spark.driver.memory"] == "768m"
    assert conf["spark.driver.extraJavaOptions"] == " ".join(cdc.DRIVER_JVM_FLAGS)
    assert conf["spark.sql.shuffle.partitions"] == "2" and conf["spark.ui.enabled"] == "false"
    assert conf["spark.app.name"] == "cdc"
    assert conf["spark.sql.catalog.iceberg"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.iceberg.warehouse"] == "hdfs://namenode:8020/lake/warehouse"
    assert conf["spark.jars"] == compose_render.CONNECTOR_JARS
    assert "MALLOC_ARENA_MAX=2" in files["apps/cdc.env"]
    assert "SPARK_CONF_DIR=/dataplat/conf/spark-cdc" in files["apps/cdc.env"]


def test_submit_conf() -> None:
    app = Path("/repo/app.py")
    argv = ["spark-submit", "--name", "x", "--conf", "a=b=c", str(app), "--conf", "not=mine"]
    assert compose_render.submit_conf(argv, app) == {"spark.app.name": "x", "a": "b=c"}
    with pytest.raises(ValueError, match="--master"):
        compose_render.submit_conf(["spark-submit", "--master", "yarn", str(app)], app)


def test_postgres_is_the_native_server_config(default_settings: Settings) -> None:
    s = default_settings.model_copy(update={"ports": Ports(postgres=6543)})
    files = compose_render.compose_files(s)
    conf = files["postgres/postgresql.conf"]
    for line in ("wal_level = logical", "listen_addresses = '0.0.0.0'", "port = 6543"):
        assert f"\n{line}\n" in conf
    assert "data_directory = '/dataplat/data/postgres'" in conf
    assert "unix_socket_directories = '/dataplat/run/postgres'" in conf
    assert "hba_file = '/dataplat/conf/postgres/pg_hba.conf'" in conf
    hba = files["postgres/pg_hba.conf"]
    assert re.search(r"^host +all +all +0\.0\.0\.0/0 +scram-sha-256$", hba, re.M)
    assert re.search(r"^host +replication +all +0\.0\.0\.0/0 +scram-sha-256$", hba, re.M)
    ident = [
        line.split() for line in files["postgres/pg_ident.conf"].splitlines() if not line.startswith("#")
    ]
    assert ident == [["owner", "postgres", postgres.SUPERUSER]]  # the image's user, not this machine's
    assert "PGPORT=6543" in files["postgres/setup.env"]
    assert "jdbc:postgresql://postgres:6543/condo" in files["trino/catalog/postgresql.properties"]
    assert "CDC_PG_PORT=6543" in files["connect/connect.env"]


def test_initdb_uses_the_native_flags(default_settings: Settings) -> None:
    script = compose_render.compose_files(default_settings)["postgres/initdb.sh"]
    data = Path("/dataplat/data/postgres")
    native = postgres_setup.initdb_argv(postgres.PG_BIN, data, postgres.SUPERUSER, Path("/dev/stdin"))
    assert f"| {' '.join(native)}\n" in script
    assert f'"${postgres.SUPERUSER_SECRET}" |' in script  # the password on stdin, never in argv
    assert f"if [ -f {data}/PG_VERSION ]" in script  # once


def test_postgres_setup_script_reads_the_native_secrets_and_holds_none(
    default_settings: Settings, services: dict[str, Any]
) -> None:
    sql = compose_render.compose_files(default_settings)["postgres/setup.sql"]
    cdc_settings = default_settings.cdc
    owner = postgres.cdc_database(default_settings)
    read = dict(re.findall(r"^\\getenv (\w+) (\w+)$", sql, re.M))
    assert set(read.values()) == {owner.password_secret, postgres.REPLICATOR_SECRET}
    assert re.findall(r"PASSWORD :'(\w+)';", sql) == list(read)  # only ever the psql variables
    setup = services["postgres-setup"]
    for name in read.values():  # compose hands each one over, required
        assert setup["environment"][name].startswith("${" + name + ":?")
    assert setup["environment"]["PGPASSWORD"].startswith("${" + postgres.SUPERUSER_SECRET + ":?")
    assert f'ALTER ROLE "{cdc_settings.replication_role}" LOGIN REPLICATION PASSWORD' in sql
    tables = ", ".join(
        f'"public"."{t}"' for t in (*cdc_settings.tables, "dataplat_heartbeat", "dataplat_signal")
    )
    assert f'CREATE PUBLICATION "{cdc_settings.publication}" FOR TABLE {tables}' in sql
    assert f'GRANT SELECT ON TABLE {tables} TO "{cdc_settings.replication_role}";' in sql
    # the schema file is read where compose mounts ../pipelines
    [schema] = re.findall(r"^\\i '(.+)'$", sql, re.M)
    assert schema == f"{compose_render.PIPELINES}/{cdc_settings.database}/schema.sql"
    assert f"../pipelines:{compose_render.PIPELINES}:ro" in setup["volumes"]
    assert (REPO_ROOT / Path(schema).relative_to(compose_render.PIPELINES.parent)).is_file()
    assert sql.index("BEGIN;") < sql.index("\\i ") < sql.index("CREATE PUBLICATION") < sql.index("COMMIT;")


def test_postgres_setup_refuses_names_it_cannot_quote(default_settings: Settings) -> None:
    odd = default_settings.model_copy(
        update={"cdc": default_settings.cdc.model_copy(update={"tables": ("ok", "bad'name")})}
    )
    with pytest.raises(ValueError, match="bad'name"):
        compose_render.compose_files(odd)
