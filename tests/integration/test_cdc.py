"""Change data capture: PostgreSQL → Debezium on Kafka Connect → Kafka → the CDC app → Iceberg → Trino.

Every test ends with the lake's current state equal to PostgreSQL's, row for row, for every captured
table, and no change event landed twice in the raw tables.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dataplat.runtime import Stack
from dataplat.settings import Settings
from tests.integration import self_healing
from tests.integration.cdc_helpers import (
    execute,
    lake_columns,
    raw,
    raw_duplicates,
    trino_rows,
    wait_in_sync,
)

KILL_BUDGET_S = {"cdc": 240.0, "connect": 180.0, "postgres": 120.0}


@pytest.fixture(scope="module")
def cdc(stack: Stack, settings: Settings) -> Iterator[Settings]:
    """The stack with the CDC services healthy and the lake in step before each test starts."""
    for name in ("connect", "cdc"):
        result = stack.specs[name].probe
        assert result is not None and result().ok, f"{name} is not healthy: {result and result().reason}"
    yield settings


def workload(settings: Settings, rate: float, duration_s: float, seed: int) -> Any:
    from rich.console import Console

    from dataplat.cdc_source import source_params
    from dataplat.load.cdc import run_workload

    quiet = Console(quiet=True)
    return run_workload(source_params(settings), rate, duration_s, seed, console=quiet)


class Background:
    """A workload run in a thread (the test kills services meanwhile)."""

    def __init__(self, settings: Settings, rate: float, duration_s: float, seed: int) -> None:
        self.summary: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings, rate, duration_s, seed), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings, rate: float, duration_s: float, seed: int) -> None:
        try:
            self.summary = workload(settings, rate, duration_s, seed)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread
            self.error = error

    def join(self) -> Any:
        self.thread.join(timeout=600)
        if self.error is not None:
            raise self.error
        return self.summary


def assert_exactly_once(settings: Settings) -> float:
    seconds = wait_in_sync(settings)
    dupes = {table: n for table in settings.cdc.tables if (n := raw_duplicates(settings, table))}
    assert not dupes, f"change events landed twice in the raw tables: {dupes}"
    return seconds


def test_mixed_workload_lands_row_for_row(cdc: Settings) -> None:
    summary = workload(cdc, rate=80, duration_s=20, seed=1)
    assert summary.commits > 0
    seconds = assert_exactly_once(cdc)
    print(f"in step {seconds:.1f} s after the workload ended: {summary}")
    counts = trino_rows(cdc, f"SELECT op, count(*) FROM {raw(cdc, 'transactions')} GROUP BY op")
    assert {op for op, _ in counts} >= {"c"}, counts


@pytest.mark.parametrize("service", ["cdc", "connect", "postgres"])
def test_exactly_once_across_a_kill(cdc: Settings, stack: Stack, service: str) -> None:
    run = Background(cdc, rate=40, duration_s=40, seed=hash(service) % 1000)
    time.sleep(12)
    killed = self_healing.kill(stack, service)
    running_s, ready_s, _ = self_healing.wait_recovered(stack, service, killed, KILL_BUDGET_S[service])
    summary = run.join()
    seconds = assert_exactly_once(cdc)
    print(f"{service}: back in {ready_s:.1f} s (running {running_s:.1f} s), in step {seconds:.1f} s later")
    print(summary)


def test_an_incremental_snapshot_rereads_an_existing_table_while_changes_stream(cdc: Settings) -> None:
    """Bulk snapshot of an existing table: Debezium's incremental snapshot (``dataplat cdc snapshot``)
    re-reads every row of ``residents`` in key chunks while a workload changes the table; each row
    lands in raw as a read (op r, snapshot incremental) unless a change of it streamed meanwhile, and
    the current state still equals PostgreSQL's, row for row, with nothing landed twice."""
    from rich.console import Console

    from dataplat.cdc_source import request_snapshot, source_params
    from dataplat.load.cdc import bulk_load

    bulk_load(source_params(cdc), "residents", 10_000, seed_value=11, console=Console(quiet=True))
    wait_in_sync(cdc, ("residents",))
    [[since, rows]] = trino_rows(
        cdc, "SELECT to_unixtime(current_timestamp), count(*) FROM postgresql.public.residents"
    )
    run = Background(cdc, rate=30, duration_s=30, seed=17)
    time.sleep(3)
    request_snapshot(cdc, ["residents"])
    run.join()
    landed = f"{raw(cdc, 'residents')} WHERE landed_at >= from_unixtime({since!r})"
    deadline, read, changed = time.monotonic() + 300, 0, 0
    while time.monotonic() < deadline:
        [[read, changed]] = trino_rows(
            cdc,
            f"SELECT count(DISTINCT key) FILTER (WHERE op = 'r' AND snapshot = 'incremental'), "
            f"count(DISTINCT key) FILTER (WHERE op <> 'r') FROM {landed}",
        )
        if read + changed >= rows:
            break
        time.sleep(3)
    assert read + changed >= rows and read >= rows - changed > 0, (read, changed, rows)
    assert_exactly_once(cdc)


def test_added_and_dropped_columns_reach_the_lake(cdc: Settings) -> None:
    column = f"nickname_{uuid.uuid4().hex[:6]}"
    execute(
        cdc,
        f"ALTER TABLE residents ADD COLUMN {column} text",
        f"UPDATE residents SET {column} = 'nick-' || id WHERE id % 3 = 0",
    )
    wait_in_sync(cdc, ("residents",))
    assert column in lake_columns(cdc, "residents")
    execute(
        cdc,
        f"ALTER TABLE residents DROP COLUMN {column}",
        "UPDATE residents SET phone = phone WHERE id % 4 = 0",
    )
    wait_in_sync(cdc, ("residents",))
    assert column not in lake_columns(cdc, "residents")


def test_toasted_values_are_kept_when_debezium_leaves_them_out(cdc: Settings) -> None:
    long_text = "condominium minutes " * 600  # ~12 kB: stored out of line (TOAST), compressed
    marker = uuid.uuid4().hex
    execute(
        cdc,
        "INSERT INTO transactions (condominium_id, property_id, kind, amount, happened_at, description) "
        f"SELECT condominium_id, id, 'repair', 10.00, now(), '{marker} {long_text}' FROM properties LIMIT 1",
    )
    wait_in_sync(cdc, ("transactions",))
    # an update that leaves the toasted column alone: Debezium sends a placeholder for it
    execute(cdc, f"UPDATE transactions SET amount = amount + 1 WHERE description LIKE '{marker}%'")
    wait_in_sync(cdc, ("transactions",))
    table = f"iceberg.{cdc.cdc.trusted_namespace}.{cdc.cdc.database}_transactions"
    rows = trino_rows(
        cdc, f"SELECT length(description), amount FROM {table} WHERE description LIKE '{marker}%'"
    )
    assert rows and rows[0][0] == len(f"{marker} {long_text}"), rows


def test_a_malformed_event_goes_to_the_dead_letters_and_the_pipeline_keeps_going(cdc: Settings) -> None:
    from confluent_kafka import Producer

    topic = f"{cdc.cdc.topic_prefix}.{cdc.cdc.schema_name}.residents"
    marker = uuid.uuid4().hex
    producer = Producer(cdc.kafka_client_config())
    producer.produce(topic, key=json.dumps({"payload": {"id": -1}}), value=f"not json {marker}")
    assert producer.flush(10) == 0
    execute(cdc, "UPDATE residents SET phone = phone WHERE id % 7 = 0")
    wait_in_sync(cdc, ("residents",))
    dead = f"iceberg.{cdc.cdc.raw_namespace}.{cdc.cdc.dead_letter_table}"
    deadline = time.monotonic() + 120
    rows: list[list[Any]] = []
    while time.monotonic() < deadline and not rows:
        rows = trino_rows(cdc, f"SELECT reason FROM {dead} WHERE strpos(value, '{marker}') > 0")
        time.sleep(2)
    assert len(rows) == 1, rows
    assert rows[0][0], "a dead letter carries its reason"


def test_heartbeats_keep_the_slot_advancing_while_captured_tables_are_idle(cdc: Settings) -> None:
    from contextlib import closing

    import psycopg2

    from dataplat.paths import paths_for
    from dataplat.secrets import get_secret
    from dataplat.services.postgres import SUPERUSER, SUPERUSER_SECRET

    admin = psycopg2.connect(
        host=cdc.postgres_host,
        port=cdc.postgres_port,
        user=SUPERUSER,
        password=get_secret(paths_for(cdc).secrets_file, SUPERUSER_SECRET),
        dbname="postgres",
    )
    admin.autocommit = True
    with closing(admin), admin.cursor() as cursor:
        # WAL written elsewhere (not in a captured table): the slot must still move past it
        cursor.execute("CREATE TABLE IF NOT EXISTS it_cdc_wal (id serial, pad text)")
        cursor.execute("INSERT INTO it_cdc_wal (pad) SELECT repeat('x', 1000) FROM generate_series(1, 5000)")
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
        deadline = time.monotonic() + 60
        behind = None
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pg_wal_lsn_diff(%s, confirmed_flush_lsn) FROM pg_replication_slots "
                "WHERE slot_name = %s",
                (target, cdc.cdc.slot),
            )
            (behind,) = cursor.fetchone()
            if behind is not None and behind <= 0:
                break
            time.sleep(2)
        cursor.execute("DROP TABLE it_cdc_wal")
    assert behind is not None and behind <= 0, f"slot still {behind} bytes behind a position 60 s old"
