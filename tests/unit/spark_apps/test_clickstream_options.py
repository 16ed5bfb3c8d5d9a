"""The clickstream jobs' command lines: endpoints are required options (no Spark, no services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_apps.clickstream import app, compact
from spark_apps.clickstream.options import layout

REQUIRED = {
    "--bootstrap-servers": "kafka:9092",
    "--registry-url": "http://registry:8081/apis/ccompat/v7",
    "--trino-url": "http://trino:8080",
    "--hdfs-uri": "hdfs://namenode:8020",
    "--checkpoint": "hdfs://namenode:8020/lake/_checkpoints/clickstream",
}


def _argv(without: str = "") -> list[str]:
    return [arg for name, value in REQUIRED.items() if name != without for arg in (name, value)]


def test_app_defaults_are_those_of_the_app_alone() -> None:
    args = app.parse_args(_argv())
    assert args.bootstrap_servers == "kafka:9092" and args.kafka_properties == {}
    assert (args.topic, args.trigger_seconds, args.starting_offsets) == ("appclickstream", 2.0, "earliest")
    assert layout(args).increments == "hdfs://namenode:8020/lake/trusted/clickstream/increments"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_app_names_a_missing_endpoint(missing: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.parse_args(_argv(without=missing))
    assert exit_info.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err


def test_kafka_properties_repeat_and_keep_equals_signs_in_values(capsys: pytest.CaptureFixture[str]) -> None:
    args = app.parse_args(
        [
            *_argv(),
            "--kafka-property",
            "security.protocol=SASL_SSL",
            "--kafka-property",
            "sasl.jaas.config=a=b",
        ]
    )
    assert args.kafka_properties == {"security.protocol": "SASL_SSL", "sasl.jaas.config": "a=b"}
    with pytest.raises(SystemExit):
        app.parse_args([*_argv(), "--kafka-property", "no-value"])
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_app_reads_options_from_a_file(tmp_path: Path) -> None:
    """``@FILE``: how compose hands the rendered options over (one argument per line)."""
    options = tmp_path / "streaming.args"
    options.write_text("\n".join(_argv()) + "\n")
    args = app.parse_args([f"@{options}", "--topic", "other"])
    assert args.registry_url == REQUIRED["--registry-url"] and args.topic == "other"


def test_compact_requires_the_lake() -> None:
    with pytest.raises(SystemExit):
        compact.parse_args(["--date", "2026-01-01"])
    args = compact.parse_args(["--date", "2026-01-01", "--hdfs-uri", "hdfs://h:8020", "--database", "x"])
    assert layout(args).increments == "hdfs://h:8020/lake/trusted/x/increments"


def test_compaction_plan_takes_the_newest_batch_folded() -> None:
    root = "hdfs://h/lake/trusted/clickstream/increments/start_date=2026-01-01"
    files = [
        f"{root}/b000000000007.parquet",
        f"{root}/c000000000005.parquet",
        f"{root}/b000000000009.parquet",
    ]
    assert compact.plan(files) == (files, 9)
    assert compact.plan([f"{root}/c000000000005.parquet"]) is None
    assert compact.plan([f"{root}/_staging", f"{root}/b000000000001.parquet"]) is None
