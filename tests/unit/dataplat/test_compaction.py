"""``dataplat compact``: the job's command line carries the lake's location from the settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dataplat.compaction import JOB, compact_argv
from dataplat.runtime import build_context
from dataplat.settings import External, Lake, Settings
from spark_apps.clickstream.compact import parse_args


def test_compact_argv_passes_the_lake_options(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, external=External(hdfs_uri="hdfs://nn.example:8020"), lake=Lake(root="/l"))
    argv = compact_argv(build_context(s), dt.date(2026, 11, 20))
    assert argv[0].endswith("spark-submit")
    job_args = argv[argv.index(str(JOB)) + 1 :]
    assert job_args == ["--date", "2026-11-20", "--hdfs-uri", "hdfs://nn.example:8020", "--lake-root", "/l"]
    args = parse_args(job_args)
    assert (args.date, args.hdfs_uri, args.lake_root) == (
        dt.date(2026, 11, 20),
        "hdfs://nn.example:8020",
        "/l",
    )
