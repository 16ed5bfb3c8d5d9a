"""postgres-setup's change-data-capture part without a server: options, checks, the publication's
statements, and what the spec renders from settings."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from dataplat.paths import Paths
from dataplat.secrets import get_secret
from dataplat.services import postgres
from dataplat.settings import REPO_ROOT, Settings
from dataplat.setup import postgres as setup
from dataplat.spec import Context

SOURCE = setup.CdcSource(
    database="condo",
    schema="public",
    tables=("condominiums", "residents", "properties", "transactions"),
    heartbeat="dataplat_heartbeat",
    signal="dataplat_signal",
    publication="dataplat_condo",
    role="cdc_replicator",
)
SCHEMA_FILE = REPO_ROOT / "pipelines" / "condo" / "schema.sql"


class ScriptedCursor:
    """Answers queries from a list of result sets, in order; records what was executed."""

    def __init__(self, *results: list[tuple[Any, ...]]) -> None:
        self.results = list(results)
        self.executed: list[str] = []
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, statement: Any, params: Any = None) -> None:
        self.executed.append(str(statement))
        if str(statement).startswith("SELECT"):
            self._rows = self.results.pop(0)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


def test_the_heartbeat_and_signal_tables_are_published_with_the_tables_once() -> None:
    assert SOURCE.published == (*SOURCE.tables, "dataplat_heartbeat", "dataplat_signal")
    again = setup.CdcSource("d", "s", ("a", "dataplat_heartbeat"), "dataplat_heartbeat", "sig", "p", "r")
    assert again.published == ("a", "dataplat_heartbeat", "sig")


def test_a_table_without_primary_key_is_named_with_what_to_do() -> None:
    keys = dict.fromkeys(SOURCE.published, True) | {"residents": False}
    message = setup.key_problems(SOURCE, keys)
    assert message is not None
    assert message.startswith("table residents has no primary key in database condo, schema public")
    assert "add one (ALTER TABLE ... ADD PRIMARY KEY" in message
    assert "remove the table from [cdc] tables in dataplat.toml" in message
    assert setup.key_problems(SOURCE, dict.fromkeys(SOURCE.published, True)) is None


def test_several_keyless_or_missing_tables_are_all_named() -> None:
    keys = {"condominiums": False, "residents": False, "properties": True, "dataplat_heartbeat": True}
    keys["dataplat_signal"] = True
    message = setup.key_problems(SOURCE, keys)
    assert message is not None
    assert "tables condominiums, residents have no primary key" in message
    assert "table transactions does not exist in database condo, schema public" in message


def test_publication_is_created_when_missing() -> None:
    cursor = ScriptedCursor([])
    assert setup.ensure_publication(cursor, SOURCE) == ["publication dataplat_condo created"]
    created = cursor.executed[-1]
    assert "CREATE PUBLICATION " in created and "Identifier('dataplat_condo')" in created
    for table in SOURCE.published:
        assert f"Identifier('public', '{table}')" in created


def test_publication_with_the_same_tables_is_left_alone() -> None:
    same = [("public", table) for table in reversed(SOURCE.published)]
    cursor = ScriptedCursor([(1,)], same)
    assert setup.ensure_publication(cursor, SOURCE) == []
    assert not any("ALTER" in statement for statement in cursor.executed)


def test_publication_is_set_to_the_list_when_it_changed() -> None:
    cursor = ScriptedCursor([(1,)], [("public", "condominiums"), ("public", "dataplat_heartbeat")])
    made = setup.ensure_publication(cursor, SOURCE)
    assert made == [f"publication dataplat_condo set to {', '.join(SOURCE.published)}"]
    assert "ALTER PUBLICATION " in cursor.executed[-1] and " SET TABLE " in cursor.executed[-1]


def test_replication_role_is_created_then_kept_in_step_with_its_secret() -> None:
    cursor = ScriptedCursor([], [(1,)])
    assert setup.ensure_replication_role(cursor, "cdc_replicator", "pw") == ["role cdc_replicator created"]
    assert "CREATE ROLE " in cursor.executed[-1] and "LOGIN REPLICATION PASSWORD" in cursor.executed[-1]
    assert setup.ensure_replication_role(cursor, "cdc_replicator", "pw") == []
    assert "ALTER ROLE " in cursor.executed[-1] and "pw" not in cursor.executed[-1]


def test_cdc_options_are_complete_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[setup.CdcSource | None] = []

    def fake_setup(names: list[str], cdc: setup.CdcSource | None = None) -> int:
        captured.append(cdc)
        return 0

    monkeypatch.setattr(setup, "setup_databases", fake_setup)
    argv = [
        "setup", "airflow", "--cdc-database", "condo", "--cdc-tables", "condominiums, residents,",
        "--cdc-publication", "dataplat_condo", "--cdc-role", "cdc_replicator",
        "--cdc-schema-file", str(SCHEMA_FILE),
    ]  # fmt: skip
    umask = os.umask(0o022)
    os.umask(umask)
    assert setup.main(argv) == 0
    assert os.umask(umask) == umask  # main() leaves the process's umask alone (the test run goes on)
    assert captured[-1] == setup.CdcSource(
        "condo", "public", ("condominiums", "residents"), "dataplat_heartbeat", "dataplat_signal",
        "dataplat_condo",
        "cdc_replicator", SCHEMA_FILE,
    )  # fmt: skip
    assert setup.main(["setup", "airflow"]) == 0 and captured[-1] is None
    with pytest.raises(SystemExit):
        setup.main(["setup", "airflow", "--cdc-database", "condo", "--cdc-role", "r"])


def test_cdc_setup_needs_both_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.setup_cdc(None, SOURCE, {"POSTGRES_CONDO_PASSWORD": "x"}) == 1
    assert "$POSTGRES_CDC_REPLICATOR_PASSWORD not set" in capsys.readouterr().err


def test_the_schema_file_is_idempotent_keyed_and_holds_every_captured_table(settings: Settings) -> None:
    text = SCHEMA_FILE.read_text()
    creates = re.findall(r"CREATE (?:TABLE|INDEX)(?! IF NOT EXISTS)", text)
    assert creates == []  # every CREATE is IF NOT EXISTS: a rerun changes nothing
    tables = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", text, re.S)
    assert {name for name, _ in tables} == {
        *settings.cdc.tables,
        settings.cdc.heartbeat_table,
        settings.cdc.signal_table,
    }
    assert all("PRIMARY KEY" in body for _, body in tables)
    assert "REPLICA IDENTITY FULL" not in text and "DROP " not in text.upper()


# -- the spec ------------------------------------------------------------------------------------------
def context(settings: Settings) -> Context:
    paths = Paths(home=settings.home, cache=settings.cache or settings.home / "cache")
    return Context(settings, paths, Path("/jdk17"), Path("/jdk25"), Path("/venv/bin/python"), None)


def test_setup_readies_the_cdc_source_named_by_settings(settings: Settings) -> None:
    ctx = context(settings)
    spec = {s.name: s for s in postgres.specs(ctx)}["postgres-setup"]
    assert spec.argv[3:] == (
        "setup", "airflow", "metastore", "superset",
        "--cdc-database", "condo", "--cdc-schema", "public",
        "--cdc-tables", "condominiums,residents,properties,transactions",
        "--cdc-heartbeat", "dataplat_heartbeat", "--cdc-signal", "dataplat_signal",
        "--cdc-publication", "dataplat_condo",
        "--cdc-role", "cdc_replicator", "--cdc-schema-file", str(SCHEMA_FILE),
    )  # fmt: skip
    secrets = ctx.paths.secrets_file
    assert spec.env["POSTGRES_CONDO_PASSWORD"] == get_secret(secrets, "POSTGRES_CONDO_PASSWORD")
    assert spec.env["POSTGRES_CDC_REPLICATOR_PASSWORD"] == get_secret(
        secrets, "POSTGRES_CDC_REPLICATOR_PASSWORD"
    )
    for line in secrets.read_text().splitlines():
        assert line.partition("=")[2] not in " ".join(spec.argv)


def test_another_source_database_has_no_schema_file_of_ours(settings: Settings) -> None:
    custom = settings.model_copy(update={"cdc": settings.cdc.model_copy(update={"database": "shop"})})
    args = postgres.cdc_setup_args(custom)
    assert args[:2] == ("--cdc-database", "shop") and "--cdc-schema-file" not in args
    spec = {s.name: s for s in postgres.specs(context(custom))}["postgres-setup"]
    assert "POSTGRES_SHOP_PASSWORD" in spec.env
