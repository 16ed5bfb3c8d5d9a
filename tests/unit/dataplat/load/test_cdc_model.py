"""The condo workload's pure part: the operation mix, the rows, COPY's text format."""

from __future__ import annotations

import collections
import itertools
import random
import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dataplat.load import cdc_model as model


def small_world() -> model.World:
    """3 buildings, 30 units (10 each, the first 20 lived in by 2 residents each)."""
    world = model.World()
    for building in (1, 2, 3):
        world.condominiums.add(building)
    for prop in range(100, 130):
        world.add_property(prop, 1 + (prop - 100) // 10, "occupied" if prop < 120 else "vacant")
    for resident in range(1000, 1040):
        world.add_resident(resident, 100 + (resident - 1000) // 2)
    return world


def test_mix_is_mostly_ledger_inserts_in_the_weights_proportions() -> None:
    mix, rng = model.Mix(), random.Random(7)
    counts = collections.Counter(itertools.islice(mix.operations(rng), 40_000))
    total = sum(model.WEIGHTS.values())
    for name, weight in model.WEIGHTS.items():
        assert counts[name] / 40_000 == pytest.approx(weight / total, abs=0.01), name
    assert counts.most_common(1)[0][0] == "transaction"
    assert {"move_out", "condominium"} <= set(counts)  # deletes and rare new buildings do happen


def test_a_quarter_of_the_commits_hold_several_operations() -> None:
    mix, rng = model.Mix(), random.Random(3)
    sizes = [mix.group_size(rng) for _ in range(10_000)]
    assert sum(size > 1 for size in sizes) / len(sizes) == pytest.approx(0.25, abs=0.02)
    assert set(sizes) == {1, 2, 3, 4, 5}
    assert model.Mix(multi_ratio=0).group_size(rng) == 1


def test_pool_adds_removes_and_chooses_members_only() -> None:
    pool, rng = model.Pool([1, 2, 3, 4]), random.Random(1)
    pool.remove(2)
    pool.remove(4)  # the last one
    pool.add(3)  # already there: kept once
    assert sorted(pool) == [1, 3] and len(pool) == 2 and 2 not in pool
    assert {pool.choice(rng) for _ in range(50)} == {1, 3}
    pool.remove(1)
    pool.remove(3)
    assert not pool


def test_world_knows_which_properties_are_empty() -> None:
    world = small_world()
    assert 100 not in world.empty and 125 in world.empty and len(world.empty) == 10
    assert world.remove_resident(1000) == 1  # 1001 still lives in 100
    assert world.remove_resident(1001) == 0 and 100 in world.empty
    world.add_resident(2000, 100)
    assert 100 not in world.empty and world.living[100] == {2000}


def test_rows_match_the_columns_and_the_schemas_checks() -> None:
    rng, today = random.Random(5), date(2026, 1, 15)
    condo = model.condominium_row(rng)
    assert len(condo) == len(model.COLUMNS["condominiums"]) and 1950 <= condo[4] <= 2024
    prop = model.property_row(rng, 7, 123, "vacant")
    assert len(prop) == len(model.COLUMNS["properties"])
    assert prop[:3] == (7, prop[1], 12) and prop[1] == "D-1203"  # floor 12, door 03
    assert isinstance(prop[3], Decimal) and prop[3] > 0 and prop[3].as_tuple().exponent == -2
    assert prop[5] in model.PROPERTY_STATUSES and prop[6] > 0
    resident = model.resident_row(rng, 7, today)
    assert len(resident) == len(model.COLUMNS["residents"]) and resident[0] == 7
    assert resident[4] <= today and isinstance(resident[5], bool)


def test_ledger_lines_point_at_rows_that_exist() -> None:
    rng, world = random.Random(11), small_world()
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    rows = [model.transaction_row(rng, world, now, 0.0) for _ in range(2000)]
    assert all(len(row) == len(model.COLUMNS["transactions"]) for row in rows)
    for condominium, prop, resident, kind, amount, status, when, text in rows:
        assert kind in model.KINDS and status in ("pending", "posted") and when == now
        assert (amount < 0) == (kind == "refund") and amount.as_tuple().exponent == -2
        if prop is None:  # the building's own
            assert condominium in world.condominiums and resident is None and "common areas" in text
        else:
            assert world.properties[prop] == condominium
            assert resident is None or world.residents[resident] == prop
            assert not (kind == "repair" and resident is not None)
    assert 0.02 < sum(row[1] is None for row in rows) / len(rows) < 0.08
    assert any(row[2] is not None for row in rows) and any(row[5] == "pending" for row in rows)


def test_long_descriptions_stay_toasted_even_compressed() -> None:
    rng = random.Random(2)
    text = model.long_description(rng)
    assert len(text) >= model.LONG_DESCRIPTION_BYTES and "\t" not in text and "\n" not in text
    assert len(zlib.compress(text.encode(), 9)) > 2100  # pglz compresses less than zlib -9
    rows = [model.transaction_row(rng, small_world(), datetime.now(UTC), 1.0) for _ in range(3)]
    assert all(len(row[-1]) >= model.LONG_DESCRIPTION_BYTES for row in rows)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        (Decimal("-12.50"), "-12.50"),
        (42, "42"),
        (date(2026, 2, 3), "2026-02-03"),
        (datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC), "2026-02-03T04:05:06+00:00"),
        ("tab\there\nnew\\line\r", "tab\\there\\nnew\\\\line\\r"),
        ("\\N", "\\\\N"),  # the text, not NULL
    ],
)
def test_copy_field_text_format(value: object, text: str) -> None:
    assert model.copy_field(value) == text


def test_copy_line_joins_with_tabs_and_ends_the_row() -> None:
    assert model.copy_line((1, None, "a\tb")) == "1\t\\N\ta\\tb\n"


def test_history_lines_are_copy_text_of_past_building_or_unit_lines() -> None:
    rng, world = random.Random(4), small_world()
    lines = list(model.bulk_lines(rng, world, "transactions", 3000, 0.0))
    assert len(lines) == 3000
    today = datetime.now(UTC).date()
    for line in lines:
        assert line.endswith("\n") and line.count("\n") == 1
        condominium, prop, resident, kind, amount, status, when, text = line[:-1].split("\t")
        assert resident == "\\N" and kind in model.KINDS and status in ("posted", "reversed")
        assert re.fullmatch(r"-?\d+\.\d\d", amount) and (amount[0] == "-") == (kind == "refund")
        moment = datetime.fromisoformat(when.replace("+00", "+00:00"))
        assert (today - moment.date()).days < 3 * 365
        if prop == "\\N":
            assert int(condominium) in world.condominiums and text.endswith("common areas")
        else:
            assert world.properties[int(prop)] == int(condominium) and text.endswith(f"unit {prop}")
    long = list(model.bulk_lines(random.Random(1), world, "transactions", 5, 1.0))
    assert all(len(line) > model.LONG_DESCRIPTION_BYTES for line in long)


@pytest.mark.parametrize("table", ["condominiums", "properties", "residents"])
def test_bulk_lines_of_the_other_tables(table: str) -> None:
    world = small_world()
    lines = list(model.bulk_lines(random.Random(9), world, table, 200, 0.0))
    fields = [line[:-1].split("\t") for line in lines]
    assert len(fields) == 200 and {len(f) for f in fields} == {len(model.COLUMNS[table])}
    if table == "properties":
        assert len({f[1] for f in fields}) == 200  # unit codes unique: (building, code) is
        assert {int(f[0]) for f in fields} <= set(world.condominiums)
    if table == "residents":
        assert {int(f[0]) for f in fields} <= set(world.property_ids)


def test_bulk_lines_refuse_an_unknown_table() -> None:
    with pytest.raises(ValueError, match="unknown table 'owners'"):
        list(model.bulk_lines(random.Random(), small_world(), "owners", 1, 0.0))
