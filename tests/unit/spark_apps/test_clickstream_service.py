"""The streaming service's probe and spec, and the compaction planner (no Spark, no services)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dataplat.runtime import build_context
from dataplat.services.streaming import heartbeat_probe, specs
from dataplat.settings import Settings
from dataplat.spec import Condition
from spark_apps.clickstream.compact import plan


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
    assert spec.argv[0].endswith("spark-submit") and spec.argv[-3].endswith("clickstream/app.py")
    assert spec.depends_on["hdfs-init"] is Condition.COMPLETED
    assert {"kafka", "registry", "metastore"} <= set(spec.depends_on)
    assert spec.env["SPARK_CONF_DIR"].startswith(str(tmp_path))
    assert spec.env["PATH"].startswith(str(ctx.python_bin.parent))


def test_compaction_plan_takes_the_newest_batch_folded() -> None:
    root = "hdfs://h/lake/trusted/clickstream/increments/start_date=2026-01-01"
    files = [
        f"{root}/b000000000007.parquet",
        f"{root}/c000000000005.parquet",
        f"{root}/b000000000009.parquet",
    ]
    assert plan(files) == (files, 9)
    assert plan([f"{root}/c000000000005.parquet"]) is None
    assert plan([f"{root}/_staging", f"{root}/b000000000001.parquet"]) is None
