"""Generated files are written when the stack renders (``up``), not when it is only described."""

from __future__ import annotations

from pathlib import Path

from dataplat.runtime import Stack
from dataplat.settings import Settings


def test_spark_conf_and_trino_catalogs_are_written_by_render_only(tmp_path: Path) -> None:
    stack = Stack(Settings(home=tmp_path / "home", cache=tmp_path / "cache"))  # what `status` builds
    conf = stack.paths.conf
    assert not (conf / "spark").exists()
    assert not (conf / "trino" / "catalog").exists()

    stack.render()
    assert "spark.master  local[*]" in (conf / "spark" / "spark-defaults.conf").read_text()
    assert "hive.metastore.uri=" in (conf / "trino" / "catalog" / "hive.properties").read_text()
    assert (conf / "trino" / "kafka" / "appclickstream_dlq.json").exists()
