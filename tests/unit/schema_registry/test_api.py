"""The REST API through FastAPI's TestClient: the contract Confluent clients rely on."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schema_registry.app import create_app
from schema_registry.errors import MEDIA_TYPE

V1 = {"type": "record", "name": "Click", "namespace": "dp", "fields": [{"name": "user", "type": "string"}]}
V2 = {**V1, "fields": [*V1["fields"], {"name": "page", "type": ["null", "string"], "default": None}]}
V3_BREAKING = {**V1, "fields": [*V1["fields"], {"name": "ts", "type": "long"}]}


def body(schema: Any, **extra: Any) -> dict[str, Any]:
    return {"schema": json.dumps(schema), **extra}


def register(client: TestClient, subject: str, schema: Any) -> dict[str, Any]:
    response = client.post(f"/subjects/{subject}/versions", json=body(schema))
    assert response.status_code == 200, response.text
    return response.json()


def error_code(response: Any) -> int:
    return response.json()["error_code"]


def test_register_is_idempotent_and_ids_are_global(client: TestClient) -> None:
    first = register(client, "a-value", V1)
    assert first == {"id": 1}
    assert register(client, "a-value", V1) == first
    # same schema, other layout, other subject: same id, its own version 1
    assert register(client, "b-value", json.loads(json.dumps(V1, indent=2))) == {"id": 1}
    assert register(client, "a-value", V2) == {"id": 2}
    assert client.get("/subjects").json() == ["a-value", "b-value"]
    assert client.get("/subjects/a-value/versions").json() == [1, 2]


def test_media_type_in_and_out(client: TestClient) -> None:
    response = client.post(
        "/subjects/m/versions", content=json.dumps(body(V1)), headers={"Content-Type": MEDIA_TYPE}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA_TYPE
    # no content type at all (curl -d sends form encoding): still JSON
    response = client.post(
        "/subjects/m", content=json.dumps(body(V1)), headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200


def test_get_versions_and_schemas(client: TestClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    latest = client.get("/subjects/s/versions/latest").json()
    assert latest["subject"] == "s" and latest["version"] == 2 and latest["id"] == 2
    assert "schemaType" not in latest  # AVRO is implied, as Confluent answers
    assert json.loads(latest["schema"])["fields"][1]["name"] == "page"
    assert client.get("/subjects/s/versions/-1").json() == latest
    assert client.get("/subjects/s/versions/1").json()["id"] == 1
    assert client.get("/subjects/s/versions/1/schema").json() == json.loads(
        client.get("/schemas/ids/1").json()["schema"]
    )
    assert client.get("/schemas/ids/2/schema").json()["name"] == "Click"
    register(client, "t", V2)
    assert client.get("/schemas/ids/2/subjects").json() == ["s", "t"]
    assert client.get("/schemas/ids/2/versions").json() == [
        {"subject": "s", "version": 2},
        {"subject": "t", "version": 1},
    ]
    assert client.get("/schemas/types").json() == ["AVRO"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/subjects/nope/versions", 404, 40401),
        ("/subjects/nope/versions/latest", 404, 40401),
        ("/subjects/s/versions/9", 404, 40402),
        ("/subjects/s/versions/zero", 422, 42202),
        ("/subjects/s/versions/0", 422, 42202),
        ("/schemas/ids/99", 404, 40403),
        ("/config/s", 404, 40408),
        ("/associations/resources/lkc-1/clicks", 404, 404),  # the 2.16 serializer probes this
        ("/no/such/route", 404, 404),
    ],
)
def test_errors_use_confluent_codes(client: TestClient, path: str, status: int, code: int) -> None:
    register(client, "s", V1)
    response = client.get(path)
    assert response.status_code == status
    assert error_code(response) == code
    assert response.json()["message"]
    assert response.headers["content-type"] == MEDIA_TYPE


def test_lookup(client: TestClient) -> None:
    register(client, "s", V1)
    found = client.post("/subjects/s", json=body(V1)).json()
    assert found["id"] == 1 and found["version"] == 1 and found["subject"] == "s"
    assert error_code(client.post("/subjects/s", json=body(V2))) == 40403
    assert error_code(client.post("/subjects/other", json=body(V1))) == 40401


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        (body(V1, schemaType="JSON"), "AVRO schemas only"),
        (body(V1, schemaType="PROTOBUF"), "AVRO schemas only"),
        ({"schema": "{not json"}, "not JSON"),
        (
            body({"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}),
            "Invalid schema of type AVRO, details: Invalid Avro schema",
        ),
        (body(V1, references=[{"name": "x", "subject": "y", "version": 1}]), "references are not supported"),
    ],
)
def test_invalid_schemas_get_42201(client: TestClient, request_body: dict[str, Any], fragment: str) -> None:
    response = client.post("/subjects/s/versions", json=request_body)
    assert response.status_code == 422
    assert error_code(response) == 42201
    assert fragment in response.json()["message"]


def test_missing_schema_property_is_an_empty_schema(client: TestClient) -> None:
    response = client.post("/subjects/s/versions", json={"schemaType": "AVRO"})
    assert response.status_code == 422 and error_code(response) == 42201  # Confluent: "Empty schema"


def test_incompatible_registration_is_409_with_reasons(client: TestClient) -> None:
    register(client, "s", V1)
    response = client.post("/subjects/s/versions", json=body(V3_BREAKING))
    assert response.status_code == 409 and error_code(response) == 40901  # Confluent 8.0.4+
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in response.json()["message"]
    assert client.get("/subjects/s/versions").json() == [1]


def test_config_levels(client: TestClient) -> None:
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert client.get("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config/s?defaultToGlobal=true").json() == {"compatibilityLevel": "FULL"}
    assert client.put("/config/s", json={"compatibilityLevel": "NONE"}).json() == {"compatibility": "NONE"}
    assert client.get("/config/s").json() == {"compatibilityLevel": "NONE"}
    response = client.put("/config/s", json={"compatibility": "SIDEWAYS"})
    assert response.status_code == 422 and error_code(response) == 42203
    # NONE on the subject lets a breaking change in
    register(client, "s", V1)
    assert register(client, "s", V3_BREAKING)["id"] == 2
    assert client.delete("/config/s").json() == {"compatibilityLevel": "NONE"}
    assert error_code(client.get("/config/s")) == 40408


def test_compatibility_endpoint(client: TestClient) -> None:
    url = "/compatibility/subjects/s/versions/latest"
    assert client.post(url, json=body(V1)).json() == {"is_compatible": True}  # nothing to break yet
    register(client, "s", V1)
    assert client.post(url, json=body(V2)).json() == {"is_compatible": True}
    result = client.post(f"{url}?verbose=true", json=body(V3_BREAKING)).json()
    assert result["is_compatible"] is False
    assert any("'ts'" in m for m in result["messages"])
    assert "messages" not in client.post(url, json=body(V3_BREAKING)).json()
    assert client.post("/compatibility/subjects/s/versions/1", json=body(V2)).json()["is_compatible"]
    assert error_code(client.post("/compatibility/subjects/s/versions/7", json=body(V2))) == 40402
    # Confluent's CompatibilityResource answers 40402 even when the subject does not exist
    assert error_code(client.post("/compatibility/subjects/x/versions/1", json=body(V2))) == 40402
    assert client.post("/compatibility/subjects/s/versions", json=body(V2)).json() == {"is_compatible": True}


def test_transitive_level_checks_every_version(client: TestClient) -> None:
    client.put("/config/s", json={"compatibility": "BACKWARD_TRANSITIVE"})
    register(client, "s", V1)
    register(client, "s", V2)
    no_default = {**V2, "fields": [V1["fields"][0], {"name": "page", "type": ["null", "string"]}]}
    response = client.post("/subjects/s/versions", json=body(no_default))
    assert response.status_code == 409 and "version 1" in response.json()["message"]
    client.put("/config/s", json={"compatibility": "BACKWARD"})
    assert register(client, "s", no_default)["id"] == 3  # latest (v2) has page: fine


def test_soft_and_permanent_delete(client: TestClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    assert error_code(client.delete("/subjects/s/versions/1?permanent=true")) == 40407
    assert client.delete("/subjects/s/versions/1").json() == 1
    assert error_code(client.delete("/subjects/s/versions/1")) == 40406
    assert client.get("/subjects/s/versions").json() == [2]
    assert client.get("/subjects/s/versions?deleted=true").json() == [1, 2]
    assert error_code(client.get("/subjects/s/versions/1")) == 40402
    assert client.get("/subjects/s/versions/1?deleted=true").json()["id"] == 1
    assert client.get("/schemas/ids/1").status_code == 200  # old data stays readable
    assert error_code(client.delete("/subjects/s?permanent=true")) == 40405
    assert client.delete("/subjects/s").json() == [2]
    assert error_code(client.delete("/subjects/s")) == 40404
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["s"]
    assert client.delete("/subjects/s?permanent=true").json() == [1, 2]
    assert error_code(client.get("/subjects/s/versions")) == 40401
    assert error_code(client.get("/schemas/ids/1")) == 40403
    # ids are never reused; a re-registered schema gets its old id back
    assert register(client, "s", V2) == {"id": 2}
    assert client.get("/subjects/s/versions").json() == [1]


def test_reregistering_a_soft_deleted_schema_adds_a_version(client: TestClient) -> None:
    register(client, "s", V1)
    client.delete("/subjects/s")
    assert register(client, "s", V1) == {"id": 1}
    assert client.get("/subjects/s/versions").json() == [2]


def test_both_mounts_serve_the_same_state(db_path: Path) -> None:
    with TestClient(create_app(db_path)) as client:
        client.post("/apis/ccompat/v7/subjects/s/versions", json=body(V1))
        assert client.get("/subjects").json() == ["s"]
        assert client.get("/apis/ccompat/v7/subjects").json() == ["s"]
        assert client.get("/healthz").json() == {"status": "ok"}


def test_state_survives_a_restart(db_path: Path) -> None:
    with TestClient(create_app(db_path)) as client:
        client.post("/subjects/s/versions", json=body(V1))
        client.put("/config", json={"compatibility": "FORWARD"})
    with TestClient(create_app(db_path)) as client:
        assert client.get("/subjects/s/versions/latest").json()["id"] == 1
        assert client.get("/config").json() == {"compatibilityLevel": "FORWARD"}
        assert client.post("/subjects/t/versions", json=body(V2)).json() == {"id": 2}


def test_concurrent_registrations_are_serialized(db_path: Path) -> None:
    app = create_app(db_path)
    with TestClient(app) as client:
        client.put("/config/s", json={"compatibility": "NONE"})

        def add(n: int) -> int:
            schema = {"type": "record", "name": "R", "fields": [{"name": f"f{n}", "type": "int"}]}
            response = client.post("/subjects/s/versions", json=body(schema))
            assert response.status_code == 200, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(add, range(64)))
        assert sorted(ids) == list(range(1, 65))
        assert client.get("/subjects/s/versions").json() == list(range(1, 65))
        assert add(0) == ids[0]  # still idempotent
