"""The CDC app's command line: endpoints are required, names are checked, topics follow Debezium's."""

from __future__ import annotations

import pytest

from spark_apps.cdc import options

REQUIRED = {
    "--bootstrap-servers": "kafka:9092",
    "--tables": "residents,properties",
    "--checkpoint": "hdfs://namenode:8020/lake/_checkpoints/cdc",
}


def _argv(without: str = "", *extra: str) -> list[str]:
    return [arg for name, value in REQUIRED.items() if name != without for arg in (name, value)] + list(extra)


def test_defaults_are_the_apps_own() -> None:
    args = options.parse_args(_argv())
    assert args.tables == ("residents", "properties") and args.kafka_properties == {}
    assert (args.catalog, args.database, args.trigger_seconds, args.max_offsets_per_trigger) == (
        "iceberg",
        "condo",
        2.0,
        50_000,
    )
    assert options.topics(args) == {
        "condo.public.residents": "residents",
        "condo.public.properties": "properties",
        "condo.public.dataplat_heartbeat": "dataplat_heartbeat",
    }
    layout = options.layout(args)
    assert layout.raw("residents") == "iceberg.raw.condo_residents_changes"
    assert layout.trusted("residents") == "iceberg.trusted.condo_residents"
    assert layout.dead_letters == "iceberg.raw.cdc_dead_letters"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_endpoint_is_named(missing: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        options.parse_args(_argv(missing))
    assert exit_info.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err


def test_kafka_properties_repeat_and_names_are_identifiers(capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--kafka-property", "sasl.jaas.config=a=b c=d", "--kafka-property", "security.protocol=SSL"]
    args = options.parse_args(_argv("", *extra, "--heartbeat-table", "", "--database", "shop"))
    assert args.kafka_properties == {"sasl.jaas.config": "a=b c=d", "security.protocol": "SSL"}
    assert list(options.topics(args)) == ["condo.public.residents", "condo.public.properties"]
    assert options.layout(args).trusted("residents") == "iceberg.trusted.shop_residents"
    for bad in (["--tables", "a;drop"], ["--database", "x.y"], ["--heartbeat-table", "a b"]):
        with pytest.raises(SystemExit):
            options.parse_args(_argv("", *bad))
    assert "not a plain identifier" in capsys.readouterr().err
