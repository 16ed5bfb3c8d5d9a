"""The CDC app's service: its options come from the settings, its probe reads the heartbeat (no services)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from dataplat.cdc_status import CdcFigures, app_heartbeat, cdc_table, heartbeat_file
from dataplat.paths import paths_for
from dataplat.runtime import build_context
from dataplat.services import available_modules
from dataplat.services.cdc import APP, app_args, heartbeat_probe, specs
from dataplat.settings import External, KafkaClient, Settings
from dataplat.spec import Condition
from spark_apps.cdc import options
from spark_apps.cdc.batch import BatchReport
from spark_apps.cdc.metrics import Metrics


def _options(argv: tuple[str, ...]) -> dict[str, list[str]]:
    """``--name value`` pairs of ``argv`` (repeated names keep every value)."""
    pairs: dict[str, list[str]] = {}
    for name, value in zip(argv[::2], argv[1::2], strict=True):
        assert name.startswith("--"), argv
        pairs.setdefault(name, []).append(value)
    return pairs


def test_the_module_is_in_the_catalogue_after_streaming() -> None:
    modules = available_modules()
    assert "cdc" in modules and modules.index("cdc") > modules.index("streaming")


def test_app_args_carry_the_endpoints_and_the_cdc_names(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, bind_host="127.0.0.1")
    assert _options(app_args(build_context(s))) == {
        "--bootstrap-servers": ["127.0.0.1:9092"],
        "--topic-prefix": ["condo"],
        "--schema": ["public"],
        "--tables": ["condominiums,residents,properties,transactions"],
        "--heartbeat-table": ["dataplat_heartbeat"],
        "--database": ["condo"],
        "--catalog": ["iceberg"],
        "--raw-namespace": ["raw"],
        "--trusted-namespace": ["trusted"],
        "--dead-letter-table": ["cdc_dead_letters"],
        "--checkpoint": ["hdfs://127.0.0.1:8020/lake/_checkpoints/cdc"],
        "--trigger-seconds": ["2.0"],
        "--snapshot-retention-hours": ["6"],
        "--maintenance-interval-min": ["30"],
        "--starting-offsets": ["earliest"],
    }


def test_spec_submits_the_app_after_kafka_the_metastore_and_the_connector(tmp_path: Path) -> None:
    ctx = build_context(Settings(home=tmp_path))
    [spec] = specs(ctx)
    assert spec.name == "cdc" and spec.argv[0].endswith("spark-submit")
    assert f"spark.driver.memory={ctx.settings.heaps.cdc_driver}m" in spec.argv
    app_at = spec.argv.index(str(APP))
    assert spec.argv[app_at + 1 :] == (*app_args(ctx), "--heartbeat", str(heartbeat_file(ctx.paths)))
    assert spec.depends_on == {
        "kafka": Condition.HEALTHY,
        "kafka-topics": Condition.COMPLETED,
        "metastore": Condition.HEALTHY,
        "hdfs-init": Condition.COMPLETED,
        "connect-setup": Condition.COMPLETED,
    }
    assert spec.env["SPARK_CONF_DIR"].startswith(str(tmp_path))


def test_external_endpoints_and_kafka_properties(tmp_path: Path) -> None:
    s = Settings(
        home=tmp_path,
        external=External(
            kafka_bootstrap="b1.example:9093",
            hdfs_uri="hdfs://nameservice1",
            metastore_uri="thrift://hms.example:9083",
            connect_url="http://connect.example:8083",
        ),
        kafka_client=KafkaClient(properties={"security.protocol": "SASL_SSL", "sasl.jaas.config": "a=b c=d"}),
    )
    [spec] = specs(build_context(s))
    argv = spec.argv[spec.argv.index(str(APP)) + 1 :]
    pairs = _options(tuple(argv))
    assert pairs["--bootstrap-servers"] == ["b1.example:9093"]
    assert pairs["--kafka-property"] == ["security.protocol=SASL_SSL", "sasl.jaas.config=a=b c=d"]
    assert pairs["--checkpoint"] == ["hdfs://nameservice1/lake/_checkpoints/cdc"]
    assert set(spec.depends_on) == {"kafka-topics", "connect-setup"}
    args = options.parse_args(list(argv))  # the app accepts what the runtime renders
    assert args.kafka_properties == {"security.protocol": "SASL_SSL", "sasl.jaas.config": "a=b c=d"}
    assert args.tables == s.cdc.tables and args.database == s.cdc.database
    assert options.layout(args).raw("residents") == "iceberg.raw.condo_residents_changes"


def test_probe_wants_a_running_query_and_a_fresh_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "cdc.heartbeat.json"
    probe = heartbeat_probe(beat, fresh_s=30, stuck_s=600)
    assert "not started" in probe().reason
    metrics = Metrics(beat)
    metrics.starting()
    assert "starting" in probe().reason
    metrics.started("run-1")
    assert probe().ok
    metrics.step(3, "trusted.residents")
    assert probe().ok
    beat.write_text(json.dumps({**json.loads(beat.read_text()), "step_since": time.time() - 601}))
    assert "in step trusted.residents for" in probe().reason
    beat.write_text(json.dumps({"ts": time.time() - 31, "state": "idle"}))
    assert "old" in probe().reason
    metrics.terminated("boom")
    assert "terminated: boom" in probe().reason


def test_status_reads_the_apps_heartbeat(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    metrics = Metrics(heartbeat_file(paths_for(s)))
    newest = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=4)
    metrics.batch(
        BatchReport(7, events={"residents": 3}, dead_letters=1, max_source_ts=newest), duration_s=1.5
    )
    figures = CdcFigures()
    figures.app, figures.app_age_s = app_heartbeat(paths_for(s))
    console = Console(width=200, record=True)
    console.print(cdc_table(figures, s))
    text = console.export_text()
    assert "batch 7" in text and "dead letters 1" in text and "over 1 batches" in text
    lag = figures.app["commit_lag"]
    assert 4 <= lag["last_s"] < 30 and lag["p50_s"] == lag["p95_s"] == lag["last_s"]
