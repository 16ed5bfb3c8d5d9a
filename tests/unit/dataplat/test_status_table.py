"""The status table keeps every URL whole, whatever the width (80 columns is a pipe's default)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from dataplat.paths import paths_for
from dataplat.runtime import ServiceStatus
from dataplat.settings import Settings
from dataplat.spec import Kind, Readiness
from dataplat.status_table import status_table

MIB = 1024 * 1024
REFUSED = "Thrift get_all_databases failed: connection refused on port 9083"
ROWS = [
    ("namenode", Kind.DAEMON, True, "http://127.0.0.1:9870"),
    ("kafka", Kind.DAEMON, True, "kafka://127.0.0.1:9092"),
    ("registry", Kind.DAEMON, True, "http://127.0.0.1:8081/apis/ccompat/v7"),
    ("metastore", Kind.DAEMON, False, "thrift://127.0.0.1:9083"),
    ("airflow-dag-processor", Kind.DAEMON, True, ""),
    ("airflow-migrate", Kind.ONESHOT, True, ""),
    ("ingest-api", Kind.DAEMON, True, "http://127.0.0.1:8000/docs"),
    ("streaming", Kind.DAEMON, True, "hdfs://127.0.0.1:8020/lake/_checkpoints/clickstream"),
]


def statuses(tmp_path: Path) -> list[ServiceStatus]:
    return [
        ServiceStatus(
            name,
            kind,
            "RUNNING" if kind is Kind.DAEMON else "EXITED",
            1234,
            Readiness(
                ok, "ready" if ok else "Thrift get_all_databases failed: connection refused on port 9083"
            ),
            300 * MIB,
            url,
            tmp_path / f"{name}.log",
        )
        for name, kind, ok, url in ROWS
    ]


@pytest.mark.parametrize("width", [80, 100, 160])
def test_every_url_is_printed_whole(tmp_path: Path, width: int) -> None:
    paths = paths_for(Settings(home=tmp_path / "home", cache=tmp_path / "cache"))
    console = Console(width=width, file=StringIO(), color_system=None)
    console.print(status_table(statuses(tmp_path), paths))
    assert isinstance(console.file, StringIO)
    text = console.file.getvalue()
    for name, _, _, url in ROWS:
        assert name in text
        if url:
            assert url in text, f"{url} cut at width {width}:\n{text}"
    assert "…" not in text
    assert "total" in text and str(8 * 300) in text
    assert max(len(line) for line in text.splitlines()) <= width
