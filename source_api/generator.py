"""Deterministic synthetic insights: the same (date, seed) always yields the same records.

Each record is a user's interaction with a page: ``event_id``, ``username``, ``page``,
``event_name`` and ``event_time`` (ISO 8601 UTC, inside the requested day), sorted by time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

EVENT_NAMES = ("click", "view", "form submission", "scroll", "add to cart", "purchase", "login", "logout")
EVENT_WEIGHTS = (30, 35, 6, 15, 6, 3, 3, 2)
PAGES = (
    "/", "/home", "/search", "/products", "/products/{id}", "/cart", "/checkout",
    "/account", "/blog/{id}", "/help", "/contact", "/pricing",
)  # fmt: skip
USERS = 5_000
DAY_US = 86_400_000_000


def _rng(day: date, seed: int) -> random.Random:
    # str seeds hash with SHA-512: stable across processes and Python builds (unlike hash())
    return random.Random(f"insights:{seed}:{day.isoformat()}")  # noqa: S311 - synthetic data


Row = tuple[str, str | None, str, str, str]
FIELDS = ("event_id", "username", "page", "event_name", "event_time")


def rows(day: date, count: int, seed: int = 0, *, bad_every: int = 0) -> Iterator[Row]:
    """``count`` rows of ``day`` in event-time order (tuples in ``FIELDS`` order).

    ``bad_every`` > 0 makes every n-th username null (a fault for data-quality tests).
    """
    rng = _rng(day, seed)
    offsets = sorted(rng.randrange(DAY_US) for _ in range(count))
    names = rng.choices(EVENT_NAMES, EVENT_WEIGHTS, k=count)
    users = [f"user_{u:04d}" for u in range(USERS)]
    randrange, choice = rng.randrange, rng.choice
    prefix, id_prefix = f"{day.isoformat()}T", f"{day:%Y%m%d}-{seed}-"
    for index, offset in enumerate(offsets):
        page = choice(PAGES)
        if "{id}" in page:
            page = page.replace("{id}", str(randrange(1, 500)))
        user: str | None = users[randrange(USERS)]
        if bad_every and (index + 1) % bad_every == 0:
            user = None
        seconds, micros = divmod(offset, 1_000_000)
        minutes, sec = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        stamp = f"{prefix}{hour:02d}:{minute:02d}:{sec:02d}.{micros:06d}Z"
        yield f"{id_prefix}{index:08d}", user, page, names[index], stamp


def records(day: date, count: int, seed: int = 0, *, bad_every: int = 0) -> Iterator[dict[str, str | None]]:
    """The same rows as dicts (``FIELDS`` keys)."""
    for row in rows(day, count, seed, bad_every=bad_every):
        yield dict(zip(FIELDS, row, strict=True))


def _line(row: Row) -> str:
    # every value is plain ASCII without quotes or backslashes: no escaping needed
    event_id, user, page, name, stamp = row
    username = "null" if user is None else f'"{user}"'
    return (
        f'{{"event_id":"{event_id}","username":{username},"page":"{page}",'
        f'"event_name":"{name}","event_time":"{stamp}"}}'
    )


def ndjson_chunks(items: Iterator[Row], lines_per_chunk: int = 2_000) -> Iterator[bytes]:
    """Encode rows as newline-delimited JSON, a few thousand lines per chunk."""
    buffer: list[str] = []
    for row in items:
        buffer.append(_line(row))
        if len(buffer) >= lines_per_chunk:
            yield ("\n".join(buffer) + "\n").encode()
            buffer = []
    if buffer:
        yield ("\n".join(buffer) + "\n").encode()


def json_array_chunks(items: Iterator[Row], per_chunk: int = 2_000) -> Iterator[bytes]:
    """Encode records as one JSON array, streamed piece by piece."""
    yield b"["
    first = True
    for chunk in ndjson_chunks(items, per_chunk):
        body = chunk.rstrip(b"\n").replace(b"\n", b",")
        yield body if first else b"," + body
        first = False
    yield b"]"
