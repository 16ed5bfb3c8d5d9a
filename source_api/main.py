"""The source API: a day of synthetic insights, streamed (``uvicorn source_api.main:app``).

``GET /insights?date=YYYY-MM-DD&count=N[&seed=S][&format=ndjson|json]`` streams ``count`` records
of that day as NDJSON (default) or as one JSON array; ``X-Record-Count`` announces the count.
Reruns with the same ``(date, seed)`` return identical records.

Fault injection for tests (documented, off unless asked for):

- ``fail=1``: answer 503 at once;
- ``fail_after=N``: stream N records, then drop the connection (a truncated body);
- ``bad_every=N``: every N-th record has ``username: null`` (a bad record for quality checks).

``SOURCE_API_FAIL=1`` in the environment makes every ``/insights`` call answer 503.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import StreamingResponse

from source_api.generator import json_array_chunks, ndjson_chunks, rows

MAX_COUNT = 10_000_000
FAIL_ENV = "SOURCE_API_FAIL"

app = FastAPI(title="dataplat source API", version="1.0.0")


class Format(StrEnum):
    NDJSON = "ndjson"
    JSON = "json"


class InjectedFault(RuntimeError):
    """Raised mid-stream on purpose: the server drops the connection."""


def _truncate(chunks: Iterator[bytes], fail_after: int) -> Iterator[bytes]:
    """Pass through ``fail_after`` records (NDJSON lines), then fail."""
    left = fail_after
    for chunk in chunks:
        lines = chunk.split(b"\n")[:-1]
        if len(lines) >= left:
            if left:
                yield b"\n".join(lines[:left]) + b"\n"
            raise InjectedFault(f"fault injection: dropped the connection after {fail_after} records")
        left -= len(lines)
        yield chunk


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/insights")
def insights(
    day: Annotated[date, Query(alias="date", description="the day, YYYY-MM-DD")],
    count: Annotated[int, Query(ge=0, le=MAX_COUNT)] = 1_000,
    seed: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    format: Annotated[Format, Query()] = Format.NDJSON,
    fail: Annotated[bool, Query(description="fault injection: answer 503")] = False,
    fail_after: Annotated[int | None, Query(ge=0, description="fault injection: truncate")] = None,
    bad_every: Annotated[int, Query(ge=0, description="fault injection: null usernames")] = 0,
) -> StreamingResponse:
    """Stream ``count`` deterministic records of ``date``."""
    if fail or os.environ.get(FAIL_ENV) == "1":
        raise HTTPException(status_code=503, detail="fault injection: source unavailable")
    items = rows(day, count, seed, bad_every=bad_every)
    headers = {"X-Record-Count": str(count), "Cache-Control": "no-store"}
    if format is Format.JSON:
        return StreamingResponse(json_array_chunks(items), media_type="application/json", headers=headers)
    chunks = ndjson_chunks(items)
    if fail_after is not None and fail_after < count:
        chunks = _truncate(chunks, fail_after)
    return StreamingResponse(chunks, media_type="application/x-ndjson", headers=headers)
