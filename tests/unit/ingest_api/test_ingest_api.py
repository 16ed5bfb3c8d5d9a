"""The HTTP contract: status codes, per-record results, limits, auth, readiness, metrics."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest_api.config import IngestSettings, get_ingest_settings

from .conftest import TOPIC, FakeProducer, decode, event

URL, BATCH = f"/topics/{TOPIC}", f"/topics/{TOPIC}/batch"


def use_settings(client: TestClient, factory: Callable[[], IngestSettings]) -> None:
    """Replace the settings dependency of the client's app (from the next request on)."""
    app = client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[get_ingest_settings] = factory


def test_one_event_is_written_with_its_position(client: TestClient, producer: FakeProducer) -> None:
    response = client.post(URL, json=event(event_time="2026-11-24T10:00:00Z"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["topic"] == TOPIC and body["partition"] == 1 and body["offset"] == 0
    assert isinstance(body["schema_id"], int)
    [(topic, value, key)] = producer.sent
    assert topic == TOPIC and key is None
    assert decode(value)["event_time"].timestamp() == 1_795_514_400


def test_invalid_event_is_422_with_field_and_reason(client: TestClient, producer: FakeProducer) -> None:
    response = client.post(URL, json=event(username=None))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    [result] = body["details"]["results"]
    assert result["errors"] == [{"field": "username", "reason": "expected string, got null None"}]
    assert producer.sent == []


def test_batch_writes_valid_records_only_and_says_which(client: TestClient, producer: FakeProducer) -> None:
    response = client.post(BATCH, json=[event(), {"username": "x"}, event(page="/b")])
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["rejected"], body["failed"]) == (2, 1, 0)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "accepted")]
    assert {"partition", "offset"} <= body["results"][0].keys()
    assert len(producer.sent) == 2


def test_batch_all_valid_is_200_and_all_invalid_is_422(client: TestClient, producer: FakeProducer) -> None:
    assert client.post(BATCH, json=[event(), event()]).status_code == 200
    assert client.post(BATCH, json=[{}, {"page": 1}]).status_code == 422
    assert len(producer.sent) == 2


def test_unknown_topic_is_404_with_a_hint(client: TestClient) -> None:
    response = client.post("/topics/no-such-topic", json=event())
    assert response.status_code == 404
    assert "`dataplat schemas`" in response.json()["hint"]  # the command that registers them


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(client: TestClient, content_type: str) -> None:
    response = client.post(URL, content=json.dumps(event()), headers={"content-type": content_type})
    assert response.status_code == 415


def test_json_with_charset_is_accepted(client: TestClient) -> None:
    response = client.post(
        URL, content=json.dumps(event()), headers={"content-type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 200


def test_limits_are_413(client: TestClient, producer: FakeProducer) -> None:
    too_big = client.post(URL, json=event(page="x" * 5000))
    assert too_big.status_code == 413
    too_many = client.post(BATCH, json=[event()] * 11)
    assert too_many.status_code == 413
    assert "split" in too_many.json()["hint"]
    assert producer.sent == []


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"username": "'
        yield b"x" * 5000
        yield b'"}'

    response = client.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_malformed_json_and_non_array_batch_are_400(client: TestClient) -> None:
    assert client.post(URL, content=b"{nope", headers={"content-type": "application/json"}).status_code == 400
    assert client.post(BATCH, json=event()).status_code == 400
    assert client.post(BATCH, json=[]).status_code == 422


def test_kafka_down_is_503_with_retry_after(client: TestClient, producer: FakeProducer) -> None:
    producer.down = True
    response = client.post(BATCH, json=[event()])
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"] == "kafka_unavailable"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["kafka"] != "ok" and ready.json()["registry"] == "ok"


def test_failed_delivery_is_never_2xx(client: TestClient, producer: FakeProducer) -> None:
    producer.fail_delivery = "_MSG_TIMED_OUT: Local: Message timed out"
    response = client.post(BATCH, json=[event(), {"bad": 1}])
    assert response.status_code == 503
    assert "retry-after" in response.headers
    results = response.json()["details"]["results"]
    assert [r["status"] for r in results] == ["failed", "rejected"]
    assert client.post(URL, json=event()).status_code == 503


def test_registry_down_is_503(client: TestClient, registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    def unreachable(subject: str, fmt: str | None = None) -> None:
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(registry, "get_latest_version", unreachable)
    response = client.post(URL, json=event())
    assert response.status_code == 503 and response.json()["error"] == "registry_unavailable"
    assert "retry-after" in response.headers


def test_rejected_records_go_to_the_dlq_when_enabled(
    client: TestClient, producer: FakeProducer, settings: IngestSettings
) -> None:
    client.post(BATCH, json=[event(), {"username": 1}])
    assert producer.dlq == []
    settings.dlq_enabled = True  # the service's settings (read once by the lifespan)
    client.post(BATCH, json=[event(), {"username": 1}])
    [(topic, document)] = producer.dlq
    assert topic == f"{TOPIC}.dlq"
    assert document["record"] == {"username": 1}
    assert {"field": "username", "reason": "expected string, got number 1"} in document["errors"]


def test_key_field_keys_the_record(
    client: TestClient, producer: FakeProducer, settings: IngestSettings
) -> None:
    settings.key_field = "username"
    client.post(URL, json=event(username="bob"))
    assert producer.sent[0][2] == b"bob"


def test_api_key_is_required_beyond_loopback(client: TestClient, settings: IngestSettings) -> None:
    public = settings.model_copy(update={"bind_host": "0.0.0.0", "api_key": "s3cret"})
    use_settings(client, lambda: public)
    assert client.post(URL, json=event()).status_code == 401
    assert client.post(URL, json=event(), headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post(URL, json=event(), headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/healthz").status_code == 200  # operations stay open


def test_non_ascii_api_key_is_401_not_500(client: TestClient, settings: IngestSettings) -> None:
    public = settings.model_copy(update={"bind_host": "0.0.0.0", "api_key": "s3cret"})
    use_settings(client, lambda: public)
    response = client.post(URL, json=event(), headers=[(b"x-api-key", "s3cr\xe9t".encode("latin-1"))])
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_key_is_checked_before_the_body_is_read(client: TestClient, settings: IngestSettings) -> None:
    public = settings.model_copy(update={"bind_host": "0.0.0.0", "api_key": "s3cret"})
    use_settings(client, lambda: public)
    assert client.post(URL, content=b"{nope", headers={"content-type": "application/json"}).status_code == 401
    assert client.post("/topics/bad topic!", json=event()).status_code == 401


def test_invalid_topic_name_is_422(client: TestClient, producer: FakeProducer) -> None:
    response = client.post("/topics/bad topic!", json=event())
    assert response.status_code == 422 and response.json()["error"] == "invalid_topic"
    assert producer.sent == []


def test_settings_are_read_once_per_request(client: TestClient, settings: IngestSettings) -> None:
    calls: list[int] = []

    def counted() -> IngestSettings:
        calls.append(1)
        return settings.model_copy(update={"require_api_key": True, "api_key": "k"})

    use_settings(client, counted)
    headers = {"X-API-Key": "k"}
    assert client.post(URL, json=event(), headers=headers).status_code == 200
    assert len(calls) == 1  # the key check and the body reader share one call
    assert client.post(BATCH, json=[event()], headers=headers).status_code == 200
    assert len(calls) == 2


def test_openapi_security_scheme_comes_from_the_dependency(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["APIKeyHeader"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    for path in (URL.replace(TOPIC, "{topic}"), BATCH.replace(TOPIC, "{topic}")):
        operation = document["paths"][path]["post"]
        assert operation["security"] == [{"APIKeyHeader": []}]
        assert {"400", "401", "422", "503"} <= operation["responses"].keys()
        [parameter] = operation["parameters"]
        assert parameter["name"] == "topic" and parameter["schema"]["pattern"].startswith("^")
        assert "application/json" in operation["requestBody"]["content"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_health_ready_metrics_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"ready": True, "kafka": "ok", "registry": "ok"}
    client.post(BATCH, json=[event(), {"page": 1}])
    metrics = client.get("/metrics").text
    assert f'ingest_records_accepted_total{{topic="{TOPIC}"}}' in metrics
    assert 'ingest_records_rejected_total{reason="missing_field"' in metrics
    assert "ingest_produce_latency_seconds" in metrics
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "requestBody" in paths["/topics/{topic}/batch"]["post"]


def test_lifespan_starts_and_flushes_the_producer(client: TestClient, producer: FakeProducer) -> None:
    assert producer.started and not producer.closed
    client.__exit__(None, None, None)
    assert producer.closed
