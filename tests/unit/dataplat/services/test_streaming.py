"""The streaming service's probe and spec: the app's options come from the settings (no services)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dataplat.runtime import build_context
from dataplat.services.streaming import APP, app_args, heartbeat_file, heartbeat_probe, specs
from dataplat.settings import External, KafkaClient, Lake, Settings
from dataplat.spec import Condition
from spark_apps.clickstream.app import parse_args


def test_probe_wants_a_fresh_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "hb.json"
    probe = heartbeat_probe(beat, fresh_s=30)
    assert not probe().ok
    beat.write_text(json.dumps({"ts": time.time(), "state": "progress"}))
    assert probe().ok
    beat.write_text(json.dumps({"ts": time.time() - 31, "state": "idle"}))
    assert "old" in probe().reason
    beat.write_text(json.dumps({"ts": 0, "state": "terminated"}))
    assert "terminated" in probe().reason


def test_spec_submits_the_app_after_its_dependencies(tmp_path: Path) -> None:
    ctx = build_context(Settings(home=tmp_path))
    [spec] = specs(ctx)
    assert spec.argv[0].endswith("spark-submit")
    app_at = spec.argv.index(str(APP))
    assert spec.argv[app_at + 1 :] == (*app_args(ctx), "--heartbeat", str(heartbeat_file(ctx)))
    assert spec.depends_on["hdfs-init"] is Condition.COMPLETED
    assert {"kafka", "registry", "metastore", "trino"} <= set(spec.depends_on)
    assert spec.env["SPARK_CONF_DIR"].startswith(str(tmp_path))
    assert spec.env["PATH"].startswith(str(ctx.python_bin.parent))


def _options(argv: tuple[str, ...]) -> dict[str, list[str]]:
    """``--name value`` pairs of ``argv`` (repeated names keep every value)."""
    pairs: dict[str, list[str]] = {}
    for name, value in zip(argv[::2], argv[1::2], strict=True):
        assert name.startswith("--"), argv
        pairs.setdefault(name, []).append(value)
    return pairs


def test_app_args_carry_every_endpoint_from_the_settings(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, bind_host="127.0.0.1")
    assert _options(app_args(build_context(s))) == {
        "--bootstrap-servers": ["127.0.0.1:9092"],
        "--registry-url": ["http://127.0.0.1:8081/apis/ccompat/v7"],
        "--trino-url": ["http://127.0.0.1:8080"],
        "--hdfs-uri": ["hdfs://127.0.0.1:8020"],
        "--lake-root": ["/lake"],
        "--checkpoint": ["hdfs://127.0.0.1:8020/lake/_checkpoints/clickstream"],
        "--topic": ["appclickstream"],
    }


def test_app_args_follow_external_endpoints_and_kafka_properties(tmp_path: Path) -> None:
    s = Settings(
        home=tmp_path,
        external=External(
            kafka_bootstrap="b1.example:9093,b2.example:9093",
            registry_url="https://registry.example/apis/ccompat/v7",
            hdfs_uri="hdfs://nameservice1",
            trino_url="https://trino.example:8443",
        ),
        kafka_client=KafkaClient(properties={"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}),
        lake=Lake(root="/data/lake", click_topic="clicks"),
    )
    [spec] = specs(build_context(s))
    options = _options(tuple(spec.argv[spec.argv.index(str(APP)) + 1 :]))
    assert options["--bootstrap-servers"] == ["b1.example:9093,b2.example:9093"]
    assert options["--kafka-property"] == ["security.protocol=SASL_SSL", "sasl.mechanism=PLAIN"]
    assert options["--registry-url"] == ["https://registry.example/apis/ccompat/v7"]
    assert options["--trino-url"] == ["https://trino.example:8443"]
    assert options["--hdfs-uri"] == ["hdfs://nameservice1"]
    assert options["--checkpoint"] == ["hdfs://nameservice1/data/lake/_checkpoints/clickstream"]
    assert options["--topic"] == ["clicks"]
    assert "kafka" not in spec.depends_on and "registry" not in spec.depends_on


def test_the_app_accepts_what_the_runtime_renders(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, kafka_client=KafkaClient(properties={"sasl.jaas.config": "a=b c=d"}))
    args = parse_args(list(app_args(build_context(s))))
    assert args.bootstrap_servers == s.kafka_bootstrap and args.registry_url == s.registry_url
    assert args.kafka_properties == {"sasl.jaas.config": "a=b c=d"}
    assert args.checkpoint.startswith(s.hdfs_uri) and args.lake_root == s.lake.root
