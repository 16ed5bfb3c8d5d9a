"""The condo workload's pure part: which operation comes next, the rows it writes, COPY's text format.

Tables and columns follow ``pipelines/condo/schema.sql``; :class:`World` is what the generator
knows of the database's ids (loaded once, then kept in step with what it writes) so that every
foreign key it writes points at a row that exists.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

COLUMNS: dict[str, tuple[str, ...]] = {
    "condominiums": ("name", "address", "city", "postal_code", "built_year"),
    "properties": ("condominium_id", "unit_code", "floor", "area_m2", "bedrooms", "status", "monthly_fee"),
    "residents": ("property_id", "full_name", "email", "phone", "moved_in", "is_owner"),
    "transactions": (
        "condominium_id", "property_id", "resident_id", "kind", "amount", "status", "happened_at",
        "description",
    ),
}  # fmt: skip
TABLES = tuple(COLUMNS)

# operation -> weight: mostly ledger inserts, some updates, few deletes, rare new buildings
WEIGHTS: dict[str, float] = {
    "transaction": 0.68,  # INSERT transactions (now and then a long, TOASTed description)
    "settle": 0.08,  # UPDATE transactions.status of a pending or long-description row
    "contact": 0.08,  # UPDATE residents' phone or email
    "property_status": 0.05,  # UPDATE properties.status
    "move_in": 0.05,  # INSERT residents (+ UPDATE properties.status)
    "move_out": 0.04,  # UPDATE transactions.resident_id, DELETE residents (+ UPDATE properties.status)
    "condominium": 0.005,  # INSERT condominiums + its properties
}
KINDS = {"fee": 0.6, "utility": 0.15, "repair": 0.1, "fine": 0.05, "deposit": 0.05, "refund": 0.05}
AMOUNTS = {  # kind -> (low, high); refunds are negative
    "fee": (80, 900), "utility": (20, 300), "repair": (150, 12000), "fine": (50, 500),
    "deposit": (100, 2000), "refund": (100, 2000),
}  # fmt: skip
PROPERTY_STATUSES = ("occupied", "vacant", "renovation", "for_sale")
LONG_DESCRIPTION_BYTES = 6000  # at least: stays above the ~2 kB TOAST threshold after pglz

FIRST = (
    "Ana", "Bruno", "Carla", "Daniel", "Elena", "Felipe", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Luis",
    "Marta", "Nuno", "Olga", "Pedro", "Quinn", "Rita", "Sofia", "Tomas", "Ursula", "Victor", "Wen", "Yara",
)  # fmt: skip
LAST = (
    "Almeida", "Becker", "Costa", "Dubois", "Evans", "Ferreira", "Garcia", "Hansen", "Ito", "Jensen",
    "Kowalski", "Lopes", "Moreau", "Novak", "Oliveira", "Peters", "Rossi", "Santos", "Silva", "Weber",
)  # fmt: skip
STREETS = (
    "Maple Avenue", "Harbour Road", "Church Street", "Oak Lane", "Riverside Drive", "Station Road",
    "Park Terrace", "Hill Street", "Garden Walk", "Market Square", "Mill Lane", "Bridge Street",
)  # fmt: skip
CITIES = ("Lisbon", "Porto", "Madrid", "Valencia", "Lyon", "Bordeaux", "Munich", "Hamburg", "Turin", "Gdansk")
BUILDING = ("Residence", "Towers", "Court", "Gardens", "House", "Heights", "Plaza")
WORDS = (
    "inspection", "leak", "pipe", "roof", "facade", "elevator", "boiler", "valve", "crack", "paint", "tiles",
    "corridor", "garage", "window", "seal", "pump", "meter", "contractor", "invoice", "quote", "approved",
    "replaced", "urgent", "scheduled", "north", "south", "wing", "floor", "unit", "water", "damage", "noise",
)  # fmt: skip


@dataclass(frozen=True)
class Mix:
    """The workload's proportions: operations, commits holding several of them, long descriptions."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    multi_ratio: float = 0.25  # share of commits with 2..max_group operations
    max_group: int = 5
    long_ratio: float = 0.02  # share of ledger inserts with a long description

    def operations(self, rng: random.Random) -> Iterator[str]:
        names = list(self.weights)
        cumulative = list(itertools.accumulate(self.weights[n] for n in names))
        while True:
            yield rng.choices(names, cum_weights=cumulative)[0]

    def group_size(self, rng: random.Random) -> int:
        return rng.randint(2, self.max_group) if rng.random() < self.multi_ratio else 1


class Pool:
    """A set of ids with O(1) add, remove and random choice."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._items: list[int] = []
        self._where: dict[int, int] = {}
        for ident in ids:
            self.add(ident)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, ident: object) -> bool:
        return ident in self._where

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def add(self, ident: int) -> None:
        if ident not in self._where:
            self._where[ident] = len(self._items)
            self._items.append(ident)

    def remove(self, ident: int) -> None:
        index = self._where.pop(ident)
        last = self._items.pop()
        if index < len(self._items):
            self._items[index] = last
            self._where[last] = index

    def choice(self, rng: random.Random) -> int:
        return self._items[rng.randrange(len(self._items))]


@dataclass
class World:
    """The rows the generator may refer to: ids, each property's building, status and residents."""

    condominiums: Pool = field(default_factory=Pool)
    properties: dict[int, int] = field(default_factory=dict)  # property -> condominium
    status: dict[int, str] = field(default_factory=dict)  # property -> status
    residents: dict[int, int] = field(default_factory=dict)  # resident -> property
    property_ids: Pool = field(default_factory=Pool)
    resident_ids: Pool = field(default_factory=Pool)
    empty: Pool = field(default_factory=Pool)  # properties nobody lives in
    living: dict[int, set[int]] = field(default_factory=dict)  # property -> its residents
    pending: deque[int] = field(default_factory=lambda: deque(maxlen=2000))  # transactions to settle
    long_rows: deque[int] = field(default_factory=lambda: deque(maxlen=500))  # long descriptions

    def add_property(self, ident: int, condominium: int, status: str) -> None:
        self.properties[ident], self.status[ident] = condominium, status
        self.property_ids.add(ident)
        self.living.setdefault(ident, set())
        if not self.living[ident]:
            self.empty.add(ident)

    def add_resident(self, ident: int, prop: int) -> None:
        self.residents[ident] = prop
        self.resident_ids.add(ident)
        self.living.setdefault(prop, set()).add(ident)
        if prop in self.empty:
            self.empty.remove(prop)

    def remove_resident(self, ident: int) -> int:
        """Forget ``ident``; returns how many residents its property has left."""
        prop = self.residents.pop(ident)
        self.resident_ids.remove(ident)
        left = self.living[prop]
        left.discard(ident)
        if not left:
            self.empty.add(prop)
        return len(left)


# -- values -------------------------------------------------------------------------------------------
def money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(round(rng.uniform(low, high) * 100)).scaleb(-2)


def person(rng: random.Random) -> tuple[str, str]:
    """(full name, e-mail) of someone new."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first}.{last}{rng.randrange(1000)}@example.com".lower()


def phone(rng: random.Random) -> str:
    return f"+351 9{rng.randrange(10):d} {rng.randrange(1000):03d} {rng.randrange(10000):04d}"


def long_description(rng: random.Random, size: int = LONG_DESCRIPTION_BYTES) -> str:
    """An inspection report of at least ``size`` characters, varied enough not to compress below it."""
    parts: list[str] = []
    length = 0
    while length < size:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
        part = f"[{rng.getrandbits(48):012x}] {words} {rng.randrange(10**6)}."
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)


def amount(rng: random.Random, kind: str) -> Decimal:
    value = money(rng, *AMOUNTS[kind])
    return -value if kind == "refund" else value


# -- rows ---------------------------------------------------------------------------------------------
def condominium_row(rng: random.Random) -> tuple[Any, ...]:
    street, city = rng.choice(STREETS), rng.choice(CITIES)
    name = f"{street.split()[0]} {rng.choice(BUILDING)}"
    postal = f"{rng.randrange(1000, 9999)}-{rng.randrange(100, 999)}"
    return (name, f"{rng.randrange(1, 400)} {street}", city, postal, rng.randint(1950, 2024))


def property_row(rng: random.Random, condominium: int, number: int, status: str) -> tuple[Any, ...]:
    """Unit ``number`` of a building (floor = number // 10): ``A-101`` style codes."""
    floor = number // 10
    bedrooms = rng.choices((0, 1, 2, 3, 4), weights=(1, 4, 5, 3, 1))[0]
    area = money(rng, 28 + 22 * bedrooms, 45 + 30 * bedrooms)
    code = f"{'ABCD'[number % 4]}-{floor}{number % 10:02d}"
    return (
        condominium,
        code,
        floor,
        area,
        bedrooms,
        status,
        money(rng, 60 + 30 * bedrooms, 120 + 60 * bedrooms),
    )


def resident_row(rng: random.Random, prop: int, today: date) -> tuple[Any, ...]:
    name, email = person(rng)
    moved_in = today - timedelta(days=rng.randrange(0, 365 * 15))
    return (prop, name, email if rng.random() < 0.9 else None, phone(rng), moved_in, rng.random() < 0.55)


def transaction_row(
    rng: random.Random,
    world: World,
    when: datetime,
    long_ratio: float,
) -> tuple[Any, ...]:
    """A ledger line: mostly a unit's fee; 5 % of them the whole building's (no property)."""
    kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    if rng.random() < 0.05 or not world.property_ids:
        prop, condominium, resident = None, world.condominiums.choice(rng), None
    else:
        prop = world.property_ids.choice(rng)
        condominium = world.properties[prop]
        living = world.living.get(prop)
        resident = rng.choice(tuple(living)) if living and kind != "repair" else None
    status = "pending" if kind in ("fee", "utility") and rng.random() < 0.6 else "posted"
    if rng.random() < long_ratio:
        text = long_description(rng)
    else:
        text = f"{kind} {when:%Y-%m}" + (f" unit {prop}" if prop else " common areas")
    return (condominium, prop, resident, kind, amount(rng, kind), status, when, text)


def history_lines(rng: random.Random, world: World, n: int, long_ratio: float) -> Iterator[str]:
    """``n`` past ledger lines (the last 3 years) as COPY text in :data:`COLUMNS` order, imported
    from a previous system: no resident, posted (2 % reversed). Written straight as text: the
    values need no escaping, and 10 million rows must not wait on per-value formatting."""
    units = [(prop, world.properties[prop]) for prop in world.property_ids]
    buildings = list(world.condominiums)
    kinds = [kind for kind, weight in KINDS.items() for _ in range(round(weight * 100))]
    ranges = {kind: (round(low * 100), round((high - low) * 100)) for kind, (low, high) in AMOUNTS.items()}
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=d)).isoformat() for d in range(3 * 365)]
    random_ = rng.random
    prop: int | str
    for _ in range(n):
        kind = kinds[int(random_() * len(kinds))]
        if random_() < 0.05 or not units:
            prop, building = "\\N", buildings[int(random_() * len(buildings))]
            where = "common areas"
        else:
            prop, building = units[int(random_() * len(units))]
            where = f"unit {prop}"
        low, span = ranges[kind]
        cents = low + int(random_() * span)
        money_ = f"{'-' if kind == 'refund' else ''}{cents // 100}.{cents % 100:02d}"
        day = days[int(random_() * len(days))]
        second = int(random_() * 86400)
        when = f"{day} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"
        status = "reversed" if random_() < 0.02 else "posted"
        text = long_description(rng) if random_() < long_ratio else f"{kind} {day[:7]} {where}"
        yield f"{building}\t{prop}\t\\N\t{kind}\t{money_}\t{status}\t{when}\t{text}\n"


def bulk_lines(rng: random.Random, world: World, table: str, n: int, long_ratio: float) -> Iterator[str]:
    """``n`` new rows of ``table`` as COPY text, referring to what ``world`` holds."""
    if table == "transactions":
        yield from history_lines(rng, world, n, long_ratio)
        return
    if table not in COLUMNS:
        raise ValueError(f"unknown table {table!r}; one of {', '.join(TABLES)}")
    today = datetime.now(UTC).date()
    tag = f"{rng.getrandbits(24):06x}"  # unit codes unique per run
    for i in range(n):
        if table == "condominiums":
            row = condominium_row(rng)
        elif table == "properties":
            row = property_row(rng, world.condominiums.choice(rng), rng.randrange(10, 300), "vacant")
            row = (row[0], f"X{tag}-{i}", *row[2:])
        else:
            row = resident_row(rng, world.property_ids.choice(rng), today)
        yield copy_line(row)


# -- COPY text format ---------------------------------------------------------------------------------
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: Any) -> str:
    """One value in COPY's text format: ``\\N`` for NULL, ``t``/``f``, ISO dates, escaped text."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def copy_line(row: Sequence[Any]) -> str:
    return "\t".join(map(copy_field, row)) + "\n"
