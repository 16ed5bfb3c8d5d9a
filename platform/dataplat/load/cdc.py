"""Write a condominium manager's workload into the operational database (``dataplat generate cdc``).

``run_workload`` seeds a base set when the tables are empty (20 condominiums, 400 properties, 600
residents), then runs a mixed workload at ``rate`` operations/s for ``duration`` seconds: mostly
ledger inserts, some resident and property updates, move-ins and move-outs (DELETE), rare new
buildings; now and then a long (TOASTed) description, later updated in another column so that the
change carries it as "unchanged". A quarter of the commits hold several operations. ``bulk_load``
streams ``n`` rows into one table with COPY, in committed chunks (10 million rows take minutes and
little memory). Both print a summary (also after Ctrl-C) and return it.

The generator is a client of the database like any other: it takes libpq connection parameters
(``dataplat generate cdc`` passes the ``condo`` role's); tables follow ``pipelines/condo/schema.sql``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dataplat.load.cdc_model import (
    COLUMNS,
    TABLES,
    Mix,
    World,
    bulk_lines,
    condominium_row,
    person,
    phone,
    property_row,
    resident_row,
    transaction_row,
)

BASE = {"condominiums": 20, "properties": 400, "residents": 600}  # seeded into empty tables
CHUNK_ROWS = 100_000  # rows per COPY (one commit each)
INTERRUPTED = 130
ConnParams = Mapping[str, Any]  # psycopg2.connect's keywords (host, port, user, password, dbname...)


@dataclass
class Summary:
    """What a run wrote: row changes per table and kind, commits, pace, errors."""

    changes: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> insert/update/delete
    seeded: dict[str, int] = field(default_factory=dict)
    operations: int = 0
    statements: int = 0
    commits: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)  # the first few, distinct
    elapsed_s: float = 0.0
    target_rate: float | None = None
    rows: int = 0  # bulk: rows copied and committed
    bytes: int = 0  # bulk: COPY text sent
    interrupted: bool = False
    failed: bool = False  # the connection was lost: the run stopped early

    def count(self, table: str, kind: str, rows: int) -> None:
        per = self.changes.setdefault(table, {"insert": 0, "update": 0, "delete": 0})
        per[kind] += max(rows, 0)

    def merge(self, pending: Summary) -> None:
        for table, kinds in pending.changes.items():
            for kind, rows in kinds.items():
                self.count(table, kind, rows)
        self.operations += pending.operations
        self.statements += pending.statements

    def error(self, message: str) -> None:
        self.errors += 1
        if message not in self.error_messages and len(self.error_messages) < 5:
            self.error_messages.append(message)

    @property
    def rate(self) -> float:
        done = self.rows or self.operations
        return done / self.elapsed_s if self.elapsed_s else 0.0


# -- the database's side --------------------------------------------------------------------------------
def load_world(cursor: Any) -> World:
    world = World()
    cursor.execute("SELECT id FROM condominiums")
    for (ident,) in cursor.fetchall():
        world.condominiums.add(ident)
    cursor.execute("SELECT id, condominium_id, status FROM properties")
    for ident, condominium, status in cursor.fetchall():
        world.add_property(ident, condominium, status)
    cursor.execute("SELECT id, property_id FROM residents")
    for ident, prop in cursor.fetchall():
        world.add_resident(ident, prop)
    return world


def insert(cursor: Any, table: str, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert ``rows`` (in :data:`COLUMNS` order); returns their ids."""
    from psycopg2.extras import execute_values

    sql = f"INSERT INTO {table} ({', '.join(COLUMNS[table])}) VALUES %s RETURNING id"  # noqa: S608 - known names
    return [ident for (ident,) in execute_values(cursor, sql, rows, page_size=1000, fetch=True)]


def seed(cursor: Any, rng: random.Random, base: Mapping[str, int] = BASE) -> dict[str, int]:
    """The base set, when ``condominiums`` is empty (the table is locked: one seeder at a time)."""
    cursor.execute("LOCK TABLE condominiums IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute("SELECT EXISTS (SELECT 1 FROM condominiums)")
    if cursor.fetchone()[0]:
        return {}
    buildings = insert(cursor, "condominiums", [condominium_row(rng) for _ in range(base["condominiums"])])
    per_building = max(base["properties"] // len(buildings), 1)
    units = [(b, 10 + n) for b in buildings for n in range(per_building)]
    occupied = set(rng.sample(range(len(units)), k=min(len(units), round(len(units) * 0.85))))
    statuses = [
        "occupied" if i in occupied else rng.choice(("vacant", "vacant", "for_sale", "renovation"))
        for i in range(len(units))
    ]
    props = insert(
        cursor, "properties", [property_row(rng, b, n, s) for (b, n), s in zip(units, statuses, strict=True)]
    )
    homes = [p for p, s in zip(props, statuses, strict=True) if s == "occupied"]
    today = datetime.now(UTC).date()
    chosen = homes + [rng.choice(homes) for _ in range(max(base["residents"] - len(homes), 0))]
    people = insert(cursor, "residents", [resident_row(rng, p, today) for p in chosen[: base["residents"]]])
    return {"condominiums": len(buildings), "properties": len(props), "residents": len(people)}


class Operations:
    """The workload's operations, each a few statements on ``cursor`` that keep ``world`` in step."""

    min_residents = 50  # move-outs stop there (someone moves in instead)

    def __init__(self, cursor: Any, world: World, rng: random.Random, mix: Mix, out: Summary) -> None:
        self.cursor, self.world, self.rng, self.mix, self.out = cursor, world, rng, mix, out

    def run(self, name: str) -> None:
        getattr(self, name)()
        self.out.operations += 1

    def _execute(self, table: str, kind: str, sql: str, params: Sequence[Any]) -> int:
        self.cursor.execute(sql, params)
        self.out.statements += 1
        rows = int(self.cursor.rowcount)
        self.out.count(table, kind, rows)
        return rows

    def _returning(self, table: str, sql: str, params: Sequence[Any]) -> int:
        self._execute(table, "insert", sql + " RETURNING id", params)
        return int(self.cursor.fetchone()[0])

    def _insert(self, table: str, row: Sequence[Any]) -> int:
        names = COLUMNS[table]
        values = ", ".join(["%s"] * len(names))
        return self._returning(table, f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})", row)  # noqa: S608

    def transaction(self) -> None:
        row = transaction_row(self.rng, self.world, datetime.now(UTC), self.mix.long_ratio)
        ident = self._insert("transactions", row)
        if len(row[-1]) > 1000:
            self.world.long_rows.append(ident)
        elif row[5] == "pending":
            self.world.pending.append(ident)

    def settle(self) -> None:
        """A pending line posted, or a long-description line's status changed (its TOAST untouched)."""
        rows = self.world.long_rows or self.world.pending
        if not rows:
            return self.transaction()
        ident = rows.popleft()
        status = "reversed" if self.rng.random() < 0.05 else "posted"
        sql = "UPDATE transactions SET status = %s, updated_at = now() WHERE id = %s"
        self._execute("transactions", "update", sql, (status, ident))
        return None

    def contact(self) -> None:
        if not self.world.resident_ids:
            return self.move_in()
        ident = self.world.resident_ids.choice(self.rng)
        if self.rng.random() < 0.5:
            sql, value = "UPDATE residents SET phone = %s, updated_at = now() WHERE id = %s", phone(self.rng)
        else:
            sql, value = (
                "UPDATE residents SET email = %s, updated_at = now() WHERE id = %s",
                person(self.rng)[1],
            )
        self._execute("residents", "update", sql, (value, ident))
        return None

    def _set_status(self, prop: int, status: str) -> None:
        sql = "UPDATE properties SET status = %s, updated_at = now() WHERE id = %s"
        self._execute("properties", "update", sql, (status, prop))
        self.world.status[prop] = status

    def property_status(self) -> None:
        """Listed for sale, renovated, back on the market: statuses that fit who lives there."""
        prop = self.world.property_ids.choice(self.rng)
        current = self.world.status.get(prop)
        choices = (
            ("occupied", "for_sale") if self.world.living.get(prop) else ("vacant", "renovation", "for_sale")
        )
        self._set_status(prop, self.rng.choice([s for s in choices if s != current] or choices))

    def move_in(self) -> None:
        world = self.world
        prop = world.empty.choice(self.rng) if world.empty else world.property_ids.choice(self.rng)
        row = resident_row(self.rng, prop, datetime.now(UTC).date())
        world.add_resident(self._insert("residents", (*row[:4], datetime.now(UTC).date(), row[5])), prop)
        if world.status.get(prop) != "occupied":
            self._set_status(prop, "occupied")

    def move_out(self) -> None:
        """The resident leaves: their ledger lines keep no link to them, then the row goes."""
        world = self.world
        if len(world.resident_ids) <= self.min_residents:
            return self.move_in()
        ident = world.resident_ids.choice(self.rng)
        sql = "UPDATE transactions SET resident_id = NULL, updated_at = now() WHERE resident_id = %s"
        self._execute("transactions", "update", sql, (ident,))
        self._execute("residents", "delete", "DELETE FROM residents WHERE id = %s", (ident,))
        prop = world.residents[ident]
        if world.remove_resident(ident) == 0:
            self._set_status(prop, "vacant")
        return None

    def condominium(self) -> None:
        """A new building joins, with its (vacant) units."""
        building = self._insert("condominiums", condominium_row(self.rng))
        self.world.condominiums.add(building)
        for number in range(10, 10 + self.rng.randint(4, 12)):
            prop = self._insert("properties", property_row(self.rng, building, number, "vacant"))
            self.world.add_property(prop, building, "vacant")


# -- runs -------------------------------------------------------------------------------------------------
def connect(params: ConnParams) -> Any:
    import psycopg2

    return psycopg2.connect(**{"application_name": "dataplat-generate-cdc", **params})


def _is_lost(connection: Any, error: Exception) -> bool:
    import psycopg2

    return bool(connection.closed) or isinstance(error, psycopg2.InterfaceError)


def _first_line(error: Exception) -> str:
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def _rollback(connection: Any) -> None:
    """Roll back what is in flight, unless the connection is gone (then there is nothing to undo)."""
    import psycopg2

    if not connection.closed:
        with suppress(psycopg2.Error):
            connection.rollback()


def run_workload(
    params: ConnParams,
    rate: float,
    duration: float,
    seed_value: int | None = None,
    *,
    mix: Mix | None = None,
    console: Console | None = None,
) -> Summary:
    """Seed when empty, then ``rate`` operations/s (0: as fast as possible) for ``duration`` s."""
    import psycopg2

    console = console or Console()
    rng, mix = random.Random(seed_value), mix or Mix()  # noqa: S311 - test data
    summary = Summary(target_rate=rate or None)
    with closing(connect(params)) as connection:
        with connection, connection.cursor() as cursor:
            summary.seeded = seed(cursor, rng)
            world = load_world(cursor)
        for table, rows in summary.seeded.items():
            summary.count(table, "insert", rows)
        if summary.seeded:
            console.print("seeded a base set: " + ", ".join(f"{n} {t}" for t, n in summary.seeded.items()))
        operations = mix.operations(rng)
        columns = (
            TextColumn("[bold]condo workload"), BarColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[ops]} ops {task.fields[commits]} commits {task.fields[errors]} errors"),
        )  # fmt: skip
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("", total=duration, ops=0, commits=0, errors=0)
            cursor = connection.cursor()
            started = time.monotonic()
            deadline, scheduled = started + duration, 0  # operations tried so far (failed ones too)
            try:
                while time.monotonic() < deadline:
                    group = Summary()
                    steps = Operations(cursor, world, rng, mix, group)
                    try:
                        for _ in range(mix.group_size(rng)):
                            if rate:
                                due = started + scheduled / rate  # operation n is due at n / rate
                                if due >= deadline:
                                    break
                                time.sleep(max(due - time.monotonic(), 0))
                            scheduled += 1
                            steps.run(next(operations))
                        connection.commit()
                    except psycopg2.Error as error:
                        summary.error(_first_line(error))
                        if _is_lost(connection, error):
                            summary.failed = True
                            break
                        connection.rollback()
                        with connection:
                            world = load_world(cursor)  # what the rollback undid
                    else:
                        summary.merge(group)
                        summary.commits += 1 if group.statements else 0
                    progress.update(
                        task, completed=min(time.monotonic() - started, duration),
                        ops=summary.operations, commits=summary.commits, errors=summary.errors,
                    )  # fmt: skip
            except KeyboardInterrupt:
                summary.interrupted = True
                _rollback(connection)
            finally:
                summary.elapsed_s = time.monotonic() - started
                progress.update(task, completed=min(summary.elapsed_s, duration))
    print_summary(summary, console)
    return summary


class CopyStream:
    """A read-only file of COPY text generated on demand (psycopg2's copy_expert reads it)."""

    def __init__(self, lines: Iterator[str], on_rows: Callable[[int, int], None]) -> None:
        self._lines, self._on_rows, self._buffer = lines, on_rows, ""

    def read(self, size: int = -1) -> str:
        """About ``size`` characters (whole lines but for a carried-over rest); "" at the end."""
        want = size if size and size > 0 else 1 << 20
        parts, length, count = [self._buffer], len(self._buffer), 0
        for line in self._lines:
            parts.append(line)
            length += len(line)
            count += 1
            if length >= want:
                break
        text = "".join(parts)
        chunk, self._buffer = text[:want], text[want:]
        self._on_rows(count, len(chunk))
        return chunk

    def readline(self, size: int = -1) -> str:  # part of the file protocol; COPY uses read
        return self.read(size)


def bulk_load(
    params: ConnParams,
    table: str,
    n: int,
    seed_value: int | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    long_ratio: float = 0.001,
    console: Console | None = None,
) -> Summary:
    """``n`` generated rows into ``table`` with COPY FROM STDIN, ``chunk_rows`` per commit."""
    import psycopg2

    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
    console = console or Console()
    rng = random.Random(seed_value)  # noqa: S311 - test data
    summary = Summary()
    copy = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
    with closing(connect(params)) as connection:
        with connection, connection.cursor() as cursor:
            summary.seeded = seed(cursor, rng)
            world = load_world(cursor)
        for name, rows in summary.seeded.items():
            summary.count(name, "insert", rows)
        columns = (
            TextColumn(f"[bold]COPY {table}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[speed]:,.0f} rows/s"),
        )  # fmt: skip
        source = bulk_lines(rng, world, table, n, long_ratio)
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("", total=n, speed=0.0)
            started = time.monotonic()
            sent = [0, 0]  # rows and bytes of the chunk in flight

            def advance(count: int, size: int) -> None:
                sent[0] += count
                sent[1] += size
                speed = (summary.rows + sent[0]) / max(time.monotonic() - started, 1e-6)
                progress.update(task, advance=count, speed=speed)

            try:
                while summary.rows < n:
                    size = min(chunk_rows, n - summary.rows)
                    sent[:] = [0, 0]
                    chunk = itertools.islice(source, size)
                    with connection.cursor() as cursor:
                        cursor.copy_expert(copy, CopyStream(chunk, advance), size=1 << 18)
                        summary.statements += 1
                    connection.commit()
                    summary.commits += 1
                    summary.rows += sent[0]
                    summary.bytes += sent[1]
                    summary.count(table, "insert", sent[0])
            except KeyboardInterrupt:
                summary.interrupted = True
                _rollback(connection)
            except psycopg2.Error as error:
                summary.error(_first_line(error))
                summary.failed = True
                _rollback(connection)
            finally:
                summary.elapsed_s = time.monotonic() - started
    print_summary(summary, console)
    return summary


# -- output -----------------------------------------------------------------------------------------------
def summary_table(summary: Summary) -> Table:
    table = Table("table", "inserts", "updates", "deletes", title="row changes committed")
    totals = [0, 0, 0]
    for name in sorted(summary.changes):
        counts = [summary.changes[name][k] for k in ("insert", "update", "delete")]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        table.add_row(name, *(f"{c:,}" for c in counts))
    table.add_row("[bold]total", *(f"[bold]{t:,}" for t in totals))
    for column in table.columns[1:]:
        column.justify = "right"
    return table


def print_summary(summary: Summary, console: Console) -> None:
    console.print(summary_table(summary))
    if summary.rows:
        mib = summary.bytes / 2**20
        line = (
            f"copied {summary.rows:,} rows ({mib:,.1f} MiB of COPY text) in {summary.commits} commits over "
            f"{summary.elapsed_s:.1f} s: {summary.rate:,.0f} rows/s"
        )
    else:
        target = f" (target {summary.target_rate:g}/s)" if summary.target_rate else ""
        line = (
            f"{summary.operations:,} operations, {summary.statements:,} statements in {summary.commits:,} "
            f"commits over {summary.elapsed_s:.1f} s: {summary.rate:,.1f} operations/s{target}"
        )
    console.print(f"{line}; [red]{summary.errors} errors[/]" if summary.errors else f"{line}; 0 errors")
    for message in summary.error_messages:
        console.print(f"  [red]error:[/] {message}", markup=True, highlight=False)
    if summary.interrupted:
        console.print("[yellow]interrupted[/]: the transaction in flight was rolled back")
    if summary.failed:
        console.print("[red]the connection was lost[/]: the run stopped early")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dataplat generate cdc",
        description="A condominium manager's workload on the CDC source database (seeded when empty), "
        "or --bulk rows loaded with COPY.",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="operations per second (0: unthrottled)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    parser.add_argument("--seed", type=int, help="random seed (a repeatable workload)")
    parser.add_argument("--bulk", type=int, metavar="N", help="instead: COPY N rows into --table")
    parser.add_argument("--table", default="transactions", choices=TABLES)
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows per COPY and commit")
    args = parser.parse_args(argv)
    if args.rate < 0 or args.duration <= 0 or (args.bulk is not None and args.bulk <= 0):
        parser.error("--rate must be >= 0, --duration and --bulk > 0")
    return args


def main(argv: Sequence[str] | None = None, params: ConnParams | None = None) -> int:
    """0 when done, 130 when interrupted (the summary is printed either way), 1 when it failed.

    ``params``: libpq keywords; without them libpq's ``PG*`` variables say where and who.
    """
    import psycopg2

    args = parse_args(argv)
    where: ConnParams = params or {}
    try:
        if args.bulk is not None:
            summary = bulk_load(where, args.table, args.bulk, args.seed, chunk_rows=args.chunk_rows)
        else:
            summary = run_workload(where, args.rate, args.duration, args.seed)
    except KeyboardInterrupt:
        return INTERRUPTED
    except psycopg2.Error as error:  # connecting or seeding failed: nothing ran
        Console(stderr=True).print(f"[red]error:[/] {_first_line(error)}", highlight=False)
        return 1
    if summary.interrupted:
        return INTERRUPTED
    return 1 if summary.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
