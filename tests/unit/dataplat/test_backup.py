"""The backup archive's layout and the restore's refusals, without a database server."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from rich.console import Console

from dataplat import backup
from dataplat.errors import DataplatError
from dataplat.paths import Paths
from dataplat.settings import Settings

EXPECTED = [
    "manifest.json",
    "postgres/airflow.dump",
    "postgres/metastore.dump",
    "postgres/superset.dump",
    "registry/registry.db",
    "secrets.env",
    "settings/dataplat.toml",
    "sqlpad/queries.db",
    "sqlpad/users.db",
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    config = tmp_path / "dataplat.toml"
    config.write_text("airflow_parallelism = 6\n")
    monkeypatch.setenv("DATAPLAT_CONFIG", str(config))
    s = Settings(home=tmp_path / "home", cache=tmp_path / "cache")
    data = s.home / "data"
    (data / "registry").mkdir(parents=True)
    with sqlite3.connect(data / "registry" / "registry.db") as db:
        db.execute("CREATE TABLE subjects (name TEXT)")
        db.execute("INSERT INTO subjects VALUES ('clicks-value')")
    (data / "sqlpad").mkdir()
    for name in ("users.db", "queries.db", "cache.db"):
        (data / "sqlpad" / name).write_text(f'{{"file":"{name}"}}\n')
    return s


@pytest.fixture
def fake_postgres(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """pg_dump and the server's version stood in for: records each call's argv and environment."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(argv: list[str], env: dict[str, str]) -> None:
        calls.append((argv, env))
        target = next(arg for arg in argv if arg.startswith("--file=")).removeprefix("--file=")
        Path(target).write_bytes(b"PGDMP" + env["PGDATABASE"].encode())

    monkeypatch.setattr(backup, "_run", run)
    monkeypatch.setattr(backup, "_server_version", lambda env: "15.18")
    monkeypatch.setattr(backup, "_tool_version", lambda tool: "pg_dump (PostgreSQL) 15.18")
    return calls


def test_archive_layout_manifest_and_mode(settings: Settings, fake_postgres: list, tmp_path: Path) -> None:
    archive = backup.backup(settings, Console(file=io.StringIO()), tmp_path / "out" / "b.tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert names[0] == "manifest.json" and sorted(names) == EXPECTED  # no SQLPad cache
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        registry = tar.extractfile("registry/registry.db").read()  # type: ignore[union-attr]
    assert manifest["format"] == 1 and manifest["databases"] == ["airflow", "metastore", "superset"]
    assert manifest["postgresql"] == {"server": "15.18", "pg_dump": "pg_dump (PostgreSQL) 15.18"}
    assert "HDFS" in manifest["scope"] and "Kafka" in manifest["scope"]
    assert dt.datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert set(manifest["files"]) == set(EXPECTED) - {"manifest.json"}
    assert registry.startswith(b"SQLite format 3")  # a real copy through the backup API
    for argv, env in fake_postgres:  # each database dumped by its owner, the password only in env
        assert argv[0].endswith("/pg_dump") and "--format=custom" in argv
        assert env["PGUSER"] == env["PGDATABASE"] and env["PGPASSWORD"] not in " ".join(argv)


def test_default_archive_is_dated_under_backups(tmp_path: Path) -> None:
    paths = Paths(home=tmp_path, cache=tmp_path / "c")
    when = dt.datetime(2026, 12, 2, 10, 5, 7, tzinfo=dt.UTC)
    assert backup.default_archive(paths, when) == tmp_path / "backups" / "dataplat-20261202T100507Z.tar.gz"


def test_an_existing_archive_is_never_overwritten(
    settings: Settings, fake_postgres: list, tmp_path: Path
) -> None:
    target = tmp_path / "b.tar.gz"
    target.write_text("keep me")
    with pytest.raises(DataplatError, match="exists"):
        backup.backup(settings, Console(file=io.StringIO()), target)
    assert target.read_text() == "keep me"


def test_extract_checks_names_format_and_checksums(
    settings: Settings, fake_postgres: list, tmp_path: Path
) -> None:
    archive = backup.backup(settings, Console(file=io.StringIO()), tmp_path / "b.tar.gz")
    manifest = backup.extract(archive, tmp_path / "x")
    assert (tmp_path / "x" / "postgres" / "superset.dump").read_bytes() == b"PGDMPsuperset"
    assert manifest["databases"] == ["airflow", "metastore", "superset"]

    def rewrite(name: str, change: dict[str, bytes]) -> Path:
        bad = tmp_path / name
        with tarfile.open(archive) as src, tarfile.open(bad, "w:gz") as dst:
            for member in src.getmembers():
                data = change.get(member.name, src.extractfile(member).read())  # type: ignore[union-attr]
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
            for extra, data in change.items():
                if extra not in src.getnames():
                    info = tarfile.TarInfo(extra)
                    info.size = len(data)
                    dst.addfile(info, io.BytesIO(data))
        return bad

    with pytest.raises(DataplatError, match="damaged"):
        backup.extract(rewrite("damaged.tar.gz", {"secrets.env": b"X=1\n"}), tmp_path / "d")
    with pytest.raises(DataplatError, match="not a dataplat backup"):
        backup.extract(rewrite("stranger.tar.gz", {"../../etc/cron.d/x": b"boom"}), tmp_path / "s")
    newer = json.dumps({**manifest, "format": 2}).encode()
    with pytest.raises(DataplatError, match="format 2"):
        backup.extract(rewrite("newer.tar.gz", {"manifest.json": newer}), tmp_path / "n")


def test_restore_wants_a_reset_stack(settings: Settings, tmp_path: Path) -> None:
    paths = Paths(home=settings.home, cache=tmp_path / "cache")
    with pytest.raises(DataplatError, match="dataplat reset"):
        backup.check_restorable(paths)  # the fixture's registry and SQLPad files are data
    for path in sorted(paths.data.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (paths.data / "airflow").mkdir()  # empty folders (made by a render) are no data
    backup.check_restorable(paths)
