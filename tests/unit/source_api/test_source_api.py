"""The source API through FastAPI's TestClient: determinism, streaming formats, validation, faults."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from source_api.generator import EVENT_NAMES, FIELDS, records
from source_api.main import app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def ndjson(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines()]


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_records_are_inside_the_day_and_well_formed(client: TestClient) -> None:
    response = client.get("/insights", params={"date": "2024-02-29", "count": 500, "seed": 7})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["x-record-count"] == "500"
    rows = ndjson(response)
    assert len(rows) == 500
    assert {tuple(row) for row in rows} == {FIELDS}
    times = [datetime.fromisoformat(row["event_time"]) for row in rows]
    assert all(t.date() == date(2024, 2, 29) and t.utcoffset().total_seconds() == 0 for t in times)
    assert times == sorted(times)
    assert {row["event_name"] for row in rows} <= set(EVENT_NAMES)
    assert {"click", "view", "form submission"} <= {row["event_name"] for row in rows}
    assert len({row["event_id"] for row in rows}) == 500


def test_same_date_and_seed_give_the_same_records(client: TestClient) -> None:
    params = {"date": "2026-11-01", "count": 300, "seed": 3}
    first, second = client.get("/insights", params=params), client.get("/insights", params=params)
    assert first.content == second.content
    other_seed = client.get("/insights", params={**params, "seed": 4})
    other_day = client.get("/insights", params={**params, "date": "2026-11-02"})
    assert other_seed.content != first.content and other_day.content != first.content


def test_json_array_format_matches_ndjson(client: TestClient) -> None:
    params = {"date": "2026-11-01", "count": 4_321}
    as_array = client.get("/insights", params={**params, "format": "json"}).json()
    assert as_array == ndjson(client.get("/insights", params=params))
    assert client.get("/insights", params={**params, "count": 0, "format": "json"}).json() == []


def test_generator_matches_the_api(client: TestClient) -> None:
    rows = ndjson(client.get("/insights", params={"date": "2026-11-01", "count": 50, "seed": 9}))
    assert rows == list(records(date(2026, 11, 1), 50, 9))


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2026-13-01"},
        {"date": "yesterday"},
        {"date": "2026-02-30"},
        {},
        {"date": "2026-11-01", "count": -1},
        {"date": "2026-11-01", "count": 10_000_001},
        {"date": "2026-11-01", "count": "many"},
        {"date": "2026-11-01", "format": "xml"},
    ],
)
def test_bad_requests_are_422(client: TestClient, params: dict) -> None:
    assert client.get("/insights", params=params).status_code == 422


def test_fail_answers_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/insights", params={"date": "2026-11-01", "fail": 1}).status_code == 503
    monkeypatch.setenv("SOURCE_API_FAIL", "1")
    assert client.get("/insights", params={"date": "2026-11-01"}).status_code == 503


def test_fail_after_truncates_the_stream(client: TestClient) -> None:
    with pytest.raises(RuntimeError, match="dropped the connection after 2500"):
        client.get("/insights", params={"date": "2026-11-01", "count": 5_000, "fail_after": 2_500})


def test_bad_every_nulls_usernames(client: TestClient) -> None:
    rows = ndjson(client.get("/insights", params={"date": "2026-11-01", "count": 100, "bad_every": 10}))
    assert Counter(row["username"] is None for row in rows) == {False: 90, True: 10}
