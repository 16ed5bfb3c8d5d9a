"""Debezium's incremental-snapshot signal: its row, where it is written, and ``dataplat cdc snapshot``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql
from rich.console import Console
from typer.testing import CliRunner

from dataplat import cdc_source, cli
from dataplat.cdc_source import (
    NotCaptured,
    captured_tables,
    raw_table,
    request_snapshot,
    snapshot_reads_sql,
    snapshot_signal,
)
from dataplat.settings import Settings


def _render(statement: Any) -> str:
    """A composed statement as text (psycopg2 quotes identifiers only through a live connection)."""
    if isinstance(statement, sql.Composed):
        return "".join(_render(part) for part in statement.seq)
    if isinstance(statement, sql.Identifier):
        return ".".join(f'"{name}"' for name in statement.strings)
    assert isinstance(statement, sql.SQL)
    return statement.string


class FakeConnection:
    """psycopg2's connection as request_snapshot uses it: one transaction, one cursor, closed after."""

    def __init__(self, log: list[Any], fail: bool) -> None:
        self.log, self.fail = log, fail

    def __enter__(self) -> FakeConnection:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self.log.append("rollback" if kind else "commit")

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.log.append("close")


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, statement: Any, params: tuple[Any, ...]) -> None:
        if self.connection.fail:
            raise psycopg2.errors.InsufficientPrivilege("permission denied for table dataplat_signal\n")
        self.connection.log.append((_render(statement), params))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", cache=tmp_path / "cache")


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """psycopg2.connect recorded: its keywords, then what the connection did (``fail``: the INSERT fails)."""
    seen: dict[str, Any] = {"connects": [], "log": [], "fail": False}

    def connect(**params: Any) -> FakeConnection:
        seen["connects"].append(params)
        return FakeConnection(seen["log"], seen["fail"])

    monkeypatch.setattr(psycopg2, "connect", connect)
    monkeypatch.setattr(cdc_source, "password", lambda paths, db: "secret-of-" + db.role)
    return seen


def test_the_signal_asks_for_an_incremental_snapshot_of_schema_qualified_tables() -> None:
    signal = snapshot_signal("public", ["residents", "transactions"])
    assert signal.type == "execute-snapshot"
    assert signal.id.startswith("dataplat-") and len(signal.id) <= 64  # the id column is varchar(64)
    assert json.loads(signal.data) == {
        "data-collections": ["public.residents", "public.transactions"],
        "type": "incremental",
    }
    assert snapshot_signal("public", ["residents"]).id != signal.id


def test_filters_become_additional_conditions_on_an_escaped_collection_pattern() -> None:
    signal = snapshot_signal("public", ["transactions"], {"transactions": "id > 41"})
    assert json.loads(signal.data)["additional-conditions"] == [
        {"data-collection": r"public\.transactions", "filter": "id > 41"}
    ]


def test_only_captured_tables_once_each_in_the_order_asked(settings: Settings) -> None:
    assert captured_tables(settings, ["transactions", "residents", "transactions"]) == [
        "transactions",
        "residents",
    ]
    with pytest.raises(NotCaptured) as caught:
        captured_tables(settings, ["residents", "owners", "pg_class"])
    assert caught.value.unknown == ("owners", "pg_class")
    assert str(caught.value) == (
        "not a captured table: owners, pg_class (captured: condominiums, residents, properties, transactions)"
    )


def test_the_signal_row_goes_into_the_signal_table_as_the_source_databases_owner(
    settings: Settings, database: dict[str, Any]
) -> None:
    signal = request_snapshot(settings, ["residents"])
    [params] = database["connects"]
    assert (params["dbname"], params["user"], params["password"]) == ("condo", "condo", "secret-of-condo")
    assert (params["host"], params["port"]) == (settings.postgres_host, settings.postgres_port)
    insert, commit, close = database["log"]
    assert insert == (
        'INSERT INTO "public"."dataplat_signal" (id, type, data) VALUES (%s, %s, %s)',
        (signal.id, "execute-snapshot", signal.data),
    )
    assert (commit, close) == ("commit", "close")


def test_the_signal_table_and_schema_come_from_settings(tmp_path: Path, database: dict[str, Any]) -> None:
    settings = Settings(
        home=tmp_path / "home",
        cache=tmp_path / "cache",
        cdc={"schema_name": "ops", "signal_table": "debezium_signal", "tables": ("units",)},
    )
    signal = request_snapshot(settings, ["units"])
    statement, _params = database["log"][0]
    assert statement.startswith('INSERT INTO "ops"."debezium_signal" ')
    assert json.loads(signal.data)["data-collections"] == ["ops.units"]


def test_nothing_is_written_for_a_table_not_captured_or_a_stray_filter(
    settings: Settings, database: dict[str, Any]
) -> None:
    with pytest.raises(NotCaptured):
        request_snapshot(settings, ["residents", "owners"])
    with pytest.raises(ValueError, match="not in the snapshot: residents"):
        request_snapshot(settings, ["transactions"], {"residents": "id > 1"})
    assert database["connects"] == []


def test_the_raw_table_and_the_query_counting_the_snapshots_reads(settings: Settings) -> None:
    raw = raw_table(settings, "residents")
    assert raw == "iceberg.raw.condo_residents_changes"
    assert snapshot_reads_sql(raw) == (
        "SELECT count(*) FROM iceberg.raw.condo_residents_changes WHERE op = 'r' AND snapshot = 'incremental'"
    )
    assert snapshot_reads_sql(raw, 1796220000.25).endswith(
        "snapshot = 'incremental' AND landed_at >= from_unixtime(1796220000.25)"
    )


@pytest.fixture
def out(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> io.StringIO:
    text = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=text, width=250))
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return text


def test_dataplat_cdc_snapshot_writes_one_signal_and_says_what_to_watch(
    out: io.StringIO, database: dict[str, Any]
) -> None:
    result = CliRunner().invoke(cli.app, ["cdc", "snapshot", "residents", "transactions", "residents"])
    assert result.exit_code == 0, result.output
    (_statement, (signal_id, kind, data)), *after = database["log"]
    assert after == ["commit", "close"]
    assert kind == "execute-snapshot"
    assert json.loads(data)["data-collections"] == ["public.residents", "public.transactions"]
    text = out.getvalue()
    assert f"incremental snapshot of residents, transactions requested: signal {signal_id}" in text
    assert "`dataplat status`" in text
    assert "iceberg.raw.condo_residents_changes, iceberg.raw.condo_transactions_changes" in text
    assert "op = 'r' and snapshot = 'incremental'" in text
    assert 'dataplat sql -e "SELECT count(*) FROM iceberg.raw.condo_residents_changes WHERE' in text


def test_dataplat_cdc_snapshot_of_an_unknown_table_names_the_captured_ones_and_exits_2(
    out: io.StringIO, database: dict[str, Any]
) -> None:
    result = CliRunner().invoke(cli.app, ["cdc", "snapshot", "residents", "owners"])
    assert result.exit_code == 2
    assert "not a captured table: owners (captured: condominiums, residents, properties, transactions)" in (
        out.getvalue()
    )
    assert database["connects"] == []


def test_dataplat_cdc_snapshot_needs_a_table(out: io.StringIO, database: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.app, ["cdc", "snapshot"])
    assert result.exit_code == 2
    assert database["connects"] == []


def test_dataplat_cdc_snapshot_reports_a_database_error_without_a_traceback(
    out: io.StringIO, database: dict[str, Any]
) -> None:
    database["fail"] = True
    result = CliRunner().invoke(cli.app, ["cdc", "snapshot", "transactions"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "could not write the signal (permission denied for table dataplat_signal); is PostgreSQL up?" in (
        out.getvalue()
    )
    assert database["log"] == ["rollback", "close"]
