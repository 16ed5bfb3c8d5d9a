"""The compose stack's configs come from the native settings and templates, and are up to date."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataplat import compose_render
from dataplat.services import ingest
from dataplat.services.streaming import app_args
from dataplat.settings import External, KafkaClient, Ports, Settings
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
    assert "127.0.0.1" not in "".join(files.values())


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
    assert not re.search(r"(?i)password\s*[=:]", "".join(files.values()))


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
