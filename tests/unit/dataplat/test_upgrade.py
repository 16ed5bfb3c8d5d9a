"""`up` on a data directory of the SQLite/Derby layout stops before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplat.paths import Paths
from dataplat.runtime import Stack
from dataplat.settings import Settings
from dataplat.spec import ServiceSpec
from dataplat.upgrade import LegacyDataDirectory, check_data_dir, legacy_files


def make_legacy(home: Path) -> None:
    (home / "data" / "airflow").mkdir(parents=True)
    (home / "data" / "airflow" / "airflow.db").write_bytes(b"SQLite format 3\x00")
    (home / "data" / "metastore" / "metastore_db").mkdir(parents=True)


def tree(home: Path) -> set[Path]:
    return set(home.rglob("*"))


def test_up_refuses_an_earlier_layout_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_legacy(home)
    before = tree(home)
    marker = tmp_path / "started"
    stack = Stack(
        Settings(home=home, cache=tmp_path / "cache"),
        specs=[ServiceSpec("web", ("touch", str(marker)), probe=lambda: None)],  # type: ignore[arg-type]
    )
    with pytest.raises(LegacyDataDirectory) as refused:
        stack.up()
    message = str(refused.value)
    assert "dataplat reset && dataplat up" in message and "DATAPLAT_HOME" in message
    assert "data/airflow/airflow.db" in message and "data/metastore/metastore_db" in message
    assert "superset.db" not in message  # only what is there
    assert tree(home) == before  # no conf, no secrets, no supervisord socket
    assert not marker.exists() and not stack.supervisor.running()


def test_a_fresh_or_postgres_home_passes(tmp_path: Path) -> None:
    paths = Paths(home=tmp_path / "home", cache=tmp_path / "cache")
    check_data_dir(paths)  # nothing there yet
    make_legacy(paths.home)
    assert legacy_files(paths) == ["airflow/airflow.db", "metastore/metastore_db"]
    (paths.data / "postgres").mkdir()
    (paths.data / "postgres" / "PG_VERSION").write_text("15\n")
    check_data_dir(paths)  # made by this version: leftovers are not the layout
