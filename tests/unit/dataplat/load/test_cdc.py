"""The condo workload's statements (on a recording cursor), COPY streaming, the summary and the CLI."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dataplat.load import cdc
from dataplat.load import cdc_model as model

from .test_cdc_model import small_world


class RecordingCursor:
    """Statements and parameters as sent; RETURNING gets fresh ids, every statement touches one row."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.rowcount = 0
        self._ids = iter(range(5000, 10**6))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.statements.append((" ".join(sql.split()), tuple(params)))
        self.rowcount = 1

    def fetchone(self) -> tuple[int]:
        return (next(self._ids),)

    def verbs(self) -> list[str]:
        return [" ".join(sql.split()[:3]) for sql, _ in self.statements]


def operations(world: model.World | None = None, seed: int = 1) -> tuple[cdc.Operations, RecordingCursor]:
    cursor = RecordingCursor()
    ops = cdc.Operations(cursor, world or small_world(), random.Random(seed), model.Mix(), cdc.Summary())
    return ops, cursor


def test_a_ledger_insert_is_one_statement_in_column_order() -> None:
    ops, cursor = operations()
    ops.run("transaction")
    [(sql, params)] = cursor.statements
    columns = ", ".join(model.COLUMNS["transactions"])
    assert sql == f"INSERT INTO transactions ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
    assert len(params) == 8
    assert ops.out.changes == {"transactions": {"insert": 1, "update": 0, "delete": 0}}
    assert ops.out.operations == 1 and ops.out.statements == 1


def test_a_long_description_row_is_settled_first_leaving_its_toast_alone() -> None:
    ops, cursor = operations()
    ops.mix = model.Mix(long_ratio=1.0)
    ops.run("transaction")
    assert list(ops.world.long_rows) == [5000]
    ops.run("settle")
    sql, params = cursor.statements[-1]
    assert sql == "UPDATE transactions SET status = %s, updated_at = now() WHERE id = %s"
    assert params[1] == 5000 and "description" not in sql
    assert not ops.world.long_rows


def test_settling_with_nothing_pending_inserts_instead() -> None:
    ops, cursor = operations()
    ops.run("settle")
    assert cursor.verbs() == ["INSERT INTO transactions"]


def test_move_out_unlinks_the_ledger_deletes_and_frees_the_last_home() -> None:
    world = small_world()
    world.add_resident(3000, 125)  # alone at home
    ops, cursor = operations(world)
    ops.min_residents = 0
    world.resident_ids = model.Pool([3000])  # the choice is forced
    leaving = 3000
    ops.run("move_out")
    assert cursor.statements == [
        ("UPDATE transactions SET resident_id = NULL, updated_at = now() WHERE resident_id = %s", (leaving,)),
        ("DELETE FROM residents WHERE id = %s", (leaving,)),
        ("UPDATE properties SET status = %s, updated_at = now() WHERE id = %s", ("vacant", 125)),
    ]
    assert ops.out.changes["residents"]["delete"] == 1 and leaving not in world.residents


def test_move_out_keeps_a_floor_of_residents_by_moving_someone_in() -> None:
    ops, cursor = operations()  # 40 residents
    ops.run("move_out")
    assert cursor.verbs()[0] == "INSERT INTO residents"


def test_move_in_fills_an_empty_home_and_marks_it_occupied() -> None:
    ops, cursor = operations()
    ops.run("move_in")
    assert cursor.verbs() == ["INSERT INTO residents", "UPDATE properties SET"]
    home = cursor.statements[0][1][0]
    assert home >= 120 and ops.world.status[home] == "occupied" and ops.world.living[home] == {5000}


def test_property_status_fits_who_lives_there() -> None:
    for seed in range(30):
        ops, cursor = operations(seed=seed)
        ops.run("property_status")
        status, prop = cursor.statements[0][1]
        allowed = ("occupied", "for_sale") if ops.world.living[prop] else ("vacant", "renovation", "for_sale")
        assert status in allowed


def test_a_new_building_comes_with_vacant_units() -> None:
    ops, cursor = operations()
    ops.run("condominium")
    verbs = cursor.verbs()
    assert verbs[0] == "INSERT INTO condominiums" and 4 <= verbs.count("INSERT INTO properties") <= 12
    assert all(params[0] == 5000 and params[5] == "vacant" for _, params in cursor.statements[1:])
    assert 5000 in ops.world.condominiums and len(ops.world.empty) == 10 + len(verbs) - 1


def test_every_operation_of_the_mix_runs() -> None:
    ops, cursor = operations()
    for name in model.WEIGHTS:
        ops.run(name)
    assert ops.out.operations == len(model.WEIGHTS) and ops.out.statements == len(cursor.statements)


def test_copy_stream_serves_every_line_in_reads_of_about_the_asked_size() -> None:
    lines = [f"{i}\tvalue {i}\n" for i in range(1000)]
    seen: list[tuple[int, int]] = []
    stream = cdc.CopyStream(iter(lines), lambda rows, size: seen.append((rows, size)))
    chunks = []
    while chunk := stream.read(512):
        assert len(chunk) <= 512
        chunks.append(chunk)
    assert "".join(chunks) == "".join(lines)
    assert sum(rows for rows, _ in seen) == 1000 and sum(size for _, size in seen) == len("".join(lines))


def test_summary_merges_a_committed_group_and_prints_a_table() -> None:
    summary, group = cdc.Summary(target_rate=50), cdc.Summary()
    group.count("residents", "delete", 1)
    group.count("transactions", "update", 3)
    group.operations, group.statements = 2, 4
    summary.merge(group)
    summary.merge(group)
    summary.commits, summary.elapsed_s = 2, 2.0
    summary.error("deadlock detected")
    summary.error("deadlock detected")
    assert summary.changes["transactions"]["update"] == 6 and summary.rate == 2.0
    assert summary.errors == 2 and summary.error_messages == ["deadlock detected"]
    out = io.StringIO()
    cdc.print_summary(summary, Console(file=out, width=120))
    text = out.getvalue()
    assert "residents" in text and "4 operations, 8 statements in 2 commits" in text
    assert "2.0 operations/s (target 50/s)" in text and "deadlock detected" in text


def test_bulk_summary_reports_rows_per_second() -> None:
    summary = cdc.Summary(rows=1_000_000, bytes=80 * 2**20, commits=10, elapsed_s=20.0)
    out = io.StringIO()
    cdc.print_summary(summary, Console(file=out, width=140))
    assert "copied 1,000,000 rows (80.0 MiB of COPY text) in 10 commits over 20.0 s: 50,000 rows/s" in (
        out.getvalue()
    )


def test_options_and_their_checks() -> None:
    args = cdc.parse_args(["--rate", "50", "--duration", "10", "--seed", "3"])
    assert (args.rate, args.duration, args.seed, args.bulk, args.table) == (50, 10, 3, None, "transactions")
    assert cdc.parse_args(["--bulk", "100", "--table", "residents"]).bulk == 100
    for wrong in (["--rate", "-1"], ["--bulk", "0"], ["--table", "owners"]):
        with pytest.raises(SystemExit):
            cdc.parse_args(wrong)


def test_dataplat_generate_cdc_connects_as_the_source_databases_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataplat import cli

    calls: list[tuple[list[str], dict[str, Any]]] = []

    def fake_main(argv: list[str], params: dict[str, Any]) -> int:
        calls.append((argv, dict(params)))
        return 0

    monkeypatch.setattr(cdc, "main", fake_main)
    monkeypatch.setattr("dataplat.cdc_source.password", lambda paths, db: "secret-of-" + db.role)
    result = CliRunner().invoke(cli.app, ["generate", "cdc", "--rate", "5", "--duration", "2"])
    assert result.exit_code == 0, result.output
    [(argv, params)] = calls
    assert argv == ["--rate", "5", "--duration", "2"]
    assert params["dbname"] == "condo" and params["user"] == "condo"
    assert params["password"] == "secret-of-condo" and params["port"] == 5432
