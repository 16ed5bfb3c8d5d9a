"""The one renderer: service templates and the repository's catalog files through one environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2
import pytest

from dataplat.paths import Paths
from dataplat.render import render_config, render_text, render_texts, template_names
from dataplat.settings import Settings
from dataplat.spec import ConfigFile, Context


def context(tmp_path: Path) -> Context:
    s = Settings(home=tmp_path / "home")
    return Context(s, Paths(s.home, tmp_path), Path("/j17"), Path("/j25"), Path(sys.executable), None)


def test_both_roots_are_listed() -> None:
    assert template_names("catalog/trino", ".properties") == [
        "catalog/trino/hive.properties",
        "catalog/trino/iceberg.properties",
        "catalog/trino/kafka.properties",
        "catalog/trino/kafka_dlq.properties",
        "catalog/trino/postgresql.properties",
    ]
    assert template_names("hdfs") == ["hdfs/core-site.xml", "hdfs/hdfs-site.xml", "hdfs/log4j.properties"]
    assert template_names("catalog", ".properties") == []  # only files directly in the folder


def test_catalog_and_service_templates_render_alike(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    hive = render_text("catalog/trino/hive.properties", ctx)
    assert f"hive.metastore.uri={ctx.settings.metastore_uri}\n" in hive
    assert hive.endswith("\n")  # keep_trailing_newline
    assert "{{" not in render_text("kafka/server.properties", ctx)


def test_undefined_names_fail(tmp_path: Path) -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_text("spark/spark-defaults.conf", context(tmp_path))  # needs conf=


def test_render_config_writes_only_changes_with_its_mode(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    config = ConfigFile("trino/log.properties", tmp_path / "out" / "log.properties", mode=0o600)
    target = render_config(config, ctx)
    assert target.read_text() == render_text(config.template, ctx)
    assert target.stat().st_mode & 0o777 == 0o600
    before = target.stat().st_mtime_ns
    render_config(config, ctx)
    assert target.stat().st_mtime_ns == before
    assert render_texts([config], ctx, tmp_path) == {"out/log.properties": target.read_text()}


def test_a_private_config_is_never_wider_than_its_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created with its mode (not chmod-ed after the text is in), and narrowed before an old file changes."""
    ctx = context(tmp_path)
    target = tmp_path / "out" / "private.properties"
    target.parent.mkdir()
    target.write_text("old, public\n")
    target.chmod(0o644)
    seen: list[int] = []
    real_open = os.open

    def spy(path: str, flags: int, mode: int = 0o777) -> int:
        seen.append(Path(path).stat().st_mode & 0o777 if Path(path).exists() else mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr("dataplat.render.os.open", spy)
    render_config(ConfigFile("trino/log.properties", target, mode=0o600), ctx)
    target.unlink()
    render_config(ConfigFile("trino/log.properties", target, mode=0o600), ctx)
    assert seen == [0o600, 0o600]
    assert target.stat().st_mode & 0o777 == 0o600
