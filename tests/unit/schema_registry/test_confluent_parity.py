"""Edge paths where Confluent's REST API answers something specific, case by case.

Each case comes from Confluent Schema Registry's own tests (``core/src/test/.../rest/RestApiTest.java``,
``RestApiCompatibilityTest.java``) or Karapace's (``tests/integration/test_schema.py``), named in a
comment, or from the Confluent resource code that a test exercises (``SubjectVersionsResource``,
``SubjectsResource``, ``CompatibilityResource``, ``SchemasResource``, ``ConfigResource``). Where
Karapace and Confluent differ, Confluent wins: this registry stands in for Confluent's.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from schema_registry.app import create_app
from schema_registry.store import Store

RECORD = {"type": "record", "name": "R", "fields": [{"name": "age", "type": "int"}]}
RECORD_V2 = {**RECORD, "fields": [*RECORD["fields"], {"name": "n", "type": "string", "default": ""}]}


def body(schema: Any, **extra: Any) -> dict[str, Any]:
    return {"schema": json.dumps(schema), **extra}


def register(client: TestClient, subject: str, schema: Any) -> int:
    response = client.post(f"/subjects/{subject}/versions", json=body(schema))
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def error(response: Any) -> tuple[int, int, str]:
    """(HTTP status, error_code, message) of an error answer."""
    payload = response.json()
    return response.status_code, payload["error_code"], payload["message"]


# -- not found: subject (40401) or version (40402) ----------------------------------------------
@pytest.fixture
def all_soft_deleted(client: TestClient) -> str:
    """A subject whose only version is soft-deleted."""
    register(client, "gone", RECORD)
    assert client.delete("/subjects/gone/versions/1").json() == 1
    return "gone"


@pytest.mark.parametrize("version", ["latest", "1"])
def test_a_subject_with_only_soft_deleted_versions_is_not_found(
    client: TestClient, all_soft_deleted: str, version: str
) -> None:
    # Karapace test_schema_lifecycle: after deleting the last version, GET .../versions/latest is
    # 40401 "Subject '...' not found."; Confluent's getSchemaByVersion asks hasSubjects(subject,
    # deleted) and only then says 40402, so a soft-deleted version 1 is 40401 too.
    response = client.get(f"/subjects/{all_soft_deleted}/versions/{version}")
    assert error(response) == (404, 40401, "Subject 'gone' not found.")
    assert error(client.get(f"/subjects/{all_soft_deleted}/versions")) == (
        404,
        40401,
        "Subject 'gone' not found.",
    )


def test_deleted_true_finds_the_soft_deleted_version(client: TestClient, all_soft_deleted: str) -> None:
    # RestApiTest.testDeleteSchemaVersionBasic: getVersion(subject, 2, lookupDeleted=true) returns it
    assert client.get(f"/subjects/{all_soft_deleted}/versions/1?deleted=true").json()["version"] == 1
    # "latest" is always the newest live version, deleted=true or not: with none left the subject
    # exists (counting deleted ones) and the version is -1 (VersionId of "latest")
    response = client.get(f"/subjects/{all_soft_deleted}/versions/latest?deleted=true")
    assert error(response) == (404, 40402, "Version -1 not found.")


def test_lookup_in_a_subject_with_only_soft_deleted_versions(
    client: TestClient, all_soft_deleted: str
) -> None:
    # SubjectsResource.lookUpSchemaUnderSubject: hasSubjects(subject, deleted) decides 40401 vs 40403
    response = client.post(f"/subjects/{all_soft_deleted}", json=body(RECORD))
    assert error(response) == (404, 40401, "Subject 'gone' not found.")
    # RestApiTest.testDeleteWithLookup: lookUpSubjectVersion(schema, subject, lookupDeleted=true)
    assert client.post(f"/subjects/{all_soft_deleted}?deleted=true", json=body(RECORD)).json()["version"] == 1


def test_missing_version_of_a_live_subject_is_40402(client: TestClient) -> None:
    # Karapace test_schema_subject_invalid_id (regression guard: this already held)
    register(client, "s", RECORD)
    assert error(client.get("/subjects/s/versions/15")) == (404, 40402, "Version 15 not found.")


def test_compatibility_against_a_missing_version_is_always_40402(client: TestClient) -> None:
    # Karapace test_compatibility_to_non_existent_schema_version_returns_404, and Confluent's
    # CompatibilityResource, which never asks whether the subject exists
    url = "/compatibility/subjects/c/versions/1"
    assert error(client.post(url, json=body(RECORD))) == (404, 40402, "Version 1 not found.")
    register(client, "c", RECORD)
    client.delete("/subjects/c/versions/1")
    assert error(client.post(url, json=body(RECORD)))[:2] == (404, 40402)
    client.delete("/subjects/c/versions/1?permanent=true")
    assert error(client.post(url, json=body(RECORD)))[:2] == (404, 40402)


def test_referenced_by_sees_soft_deleted_versions(client: TestClient, all_soft_deleted: str) -> None:
    # SubjectVersionsResource.getReferencedBy reads the version with lookupDeleted=true
    assert client.get(f"/subjects/{all_soft_deleted}/versions/1/referencedby").json() == []


def test_deleting_a_missing_subject_config_is_subject_not_found(client: TestClient) -> None:
    # ConfigResource.deleteSubjectConfig: no subject-level config -> subjectNotFoundException
    register(client, "s", RECORD)
    assert error(client.delete("/config/s")) == (404, 40401, "Subject 's' not found.")


def test_delete_latest_of_a_subject_with_no_live_version(client: TestClient, all_soft_deleted: str) -> None:
    # AbstractSchemaRegistry.validateDeleteSchemaVersion: "latest" is the newest live version (-1)
    response = client.delete(f"/subjects/{all_soft_deleted}/versions/latest?permanent=true")
    assert error(response) == (404, 40402, "Version -1 not found.")


def test_soft_delete_messages_are_confluents(client: TestClient) -> None:
    # Errors.SUBJECT_SOFT_DELETED_MESSAGE_FORMAT and SCHEMAVERSION_SOFT_DELETED_MESSAGE_FORMAT
    # (no space after the first sentence: Confluent's text, byte for byte)
    register(client, "s", RECORD)
    client.delete("/subjects/s/versions/1")
    assert error(client.delete("/subjects/s/versions/1")) == (
        404,
        40406,
        "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently",
    )
    register(client, "t", RECORD)
    client.delete("/subjects/t")
    assert error(client.delete("/subjects/t")) == (
        404,
        40404,
        "Subject 't' was soft deleted.Set permanent=true to delete permanently",
    )


def test_subjects_and_versions_of_a_missing_id_say_schema_not_found(client: TestClient) -> None:
    # SchemasResource.getSubjects / getVersions: Errors.schemaNotFoundException() (no id in the text)
    assert error(client.get("/schemas/ids/7/subjects")) == (404, 40403, "Schema not found")
    assert error(client.get("/schemas/ids/7/versions")) == (404, 40403, "Schema not found")
    assert error(client.get("/schemas/ids/7")) == (404, 40403, "Schema 7 not found")


# -- version ids (Confluent's VersionId) ----------------------------------------------------------
@pytest.mark.parametrize("version", ["LATEST", " Latest "])
def test_version_ids_parse_as_java_does(client: TestClient, version: str) -> None:
    # VersionId: trimmed, "latest" in any case, else Integer.parseInt
    register(client, "s", RECORD)
    assert client.get(f"/subjects/s/versions/{version}").json()["version"] == 1


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        ("1_0", "1_0"),  # Python's int() reads 10; Integer.parseInt refuses
        ("00", "0"),  # parsed, then refused as the number 0
    ],
)
def test_invalid_version_ids_are_42202(client: TestClient, version: str, shown: str) -> None:
    # Karapace test_version_number_validation: the message names the version
    register(client, "s", RECORD)
    message = (
        f"The specified version '{shown}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )
    assert error(client.get(f"/subjects/s/versions/{version}")) == (422, 42202, message)


# -- invalid subject names (42208) ----------------------------------------------------------------
def invalid_subject(subject: str) -> tuple[int, int, str]:
    return 422, 42208, f"The specified subject '{subject}' is not a valid."


@pytest.mark.parametrize(
    "subject",
    [
        "\rbad\nsubject\t",  # RestApiTest.testRegisterInvalidSubject
        "del\x7f",  # QualifiedSubject.isValidSubject: CharMatcher.javaIsoControl, C0, DEL and C1
        "next\x85line",
        "__GLOBAL",  # reserved names
        "__EMPTY",
    ],
)
def test_registering_under_an_invalid_subject_is_42208(client: TestClient, subject: str) -> None:
    path = quote(subject, safe="")
    response = client.post(f"/subjects/{path}/versions", json=body(RECORD))
    assert error(response) == invalid_subject(subject)
    # checked before the schema is parsed (SubjectVersionsResource.register)
    assert error(client.post(f"/subjects/{path}/versions", json={"schema": "{"})) == invalid_subject(subject)
    assert client.get("/subjects?deleted=true").json() == []


def test_a_subject_level_for_an_invalid_subject_is_42208(client: TestClient) -> None:
    # ConfigResource.updateSubjectLevelConfig: the level is checked first, then the subject
    path = quote("bad\tsubject", safe="")
    response = client.put(f"/config/{path}", json={"compatibility": "FULL"})
    assert error(response) == invalid_subject("bad\tsubject")
    assert error(client.put(f"/config/{path}", json={"compatibility": "SIDEWAYS"}))[:2] == (422, 42203)


# -- schema ids that are not Java ints --------------------------------------------------------------
@pytest.mark.parametrize("schema_id", ["invalid", "abc", "1_000", "1.0", "2147483648"])
@pytest.mark.parametrize("tail", ["", "/schema", "/subjects", "/versions"])
def test_a_schema_id_that_is_not_an_int_is_a_plain_404(client: TestClient, schema_id: str, tail: str) -> None:
    # Karapace test_schema_non_invalid_id: GET schemas/ids/invalid is 404, error_code 404,
    # "HTTP 404 Not Found" (JAX-RS cannot convert the Integer path parameter, so no route matches)
    register(client, "s", RECORD)
    response = client.get(f"/schemas/ids/{schema_id}{tail}")
    assert error(response) == (404, 404, "HTTP 404 Not Found")


# -- compatibility checks of schemas that do not parse ----------------------------------------------
BAD_DEFAULT = {"type": "record", "name": "test", "fields": [{"name": "s", "type": "string", "default": None}]}
CHECKS = ["/compatibility/subjects/s/versions/latest", "/compatibility/subjects/s/versions"]


@pytest.mark.parametrize("url", CHECKS)
@pytest.mark.parametrize(
    "request_body",
    [
        body(BAD_DEFAULT),  # RestApiTest.testSchemaNormalization: a string field defaulting to null
        {"schema": '{"type": "record", "name": "R"'},  # not even JSON
        body(RECORD, schemaType="AVROO"),  # Karapace test_regression_compatibility_..._invalid_schema_type
    ],
    ids=["bad-default", "not-json", "unknown-type"],
)
def test_verbose_check_of_an_invalid_schema_answers_with_the_reason(
    client: TestClient, url: str, request_body: dict[str, Any]
) -> None:
    # CompatibilityResource: with verbose=true an InvalidSchemaException becomes the one message of
    # an is_compatible=false answer (200); RestApiTest.testSchemaNormalization checks that the
    # message contains "Invalid schema"
    register(client, "s", RECORD)
    response = client.post(f"{url}?verbose=true", json=request_body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["is_compatible"] is False
    assert len(answer["messages"]) == 1 and "Invalid schema" in answer["messages"][0]


@pytest.mark.parametrize("url", CHECKS)
def test_plain_check_of_an_invalid_schema_is_42201(client: TestClient, url: str) -> None:
    # RestApiTest.testRegisterBadDefault: testCompatibility(...) fails with 42201
    register(client, "s", RECORD)
    status, code, message = error(client.post(url, json=body(BAD_DEFAULT)))
    assert (status, code) == (422, 42201)
    assert message.startswith("Invalid schema of type AVRO, details: ")  # AbstractSchemaRegistry.loadSchema


def test_a_missing_version_is_reported_before_an_invalid_schema(client: TestClient) -> None:
    # CompatibilityResource.testCompatibilityBySubjectName reads the version before parsing
    register(client, "s", RECORD)
    response = client.post("/compatibility/subjects/s/versions/9?verbose=true", json=body(BAD_DEFAULT))
    assert error(response)[:2] == (404, 40402)
    response = client.post("/compatibility/subjects/s/versions/earliest", json=body(BAD_DEFAULT))
    assert error(response)[:2] == (422, 42202)


# -- attributes Avro drops: a primitive (or array, map) with a name, doc or aliases -----------------
@pytest.mark.parametrize(
    ("registered", "looked_up"),
    [
        # Karapace test_schema_same_subject_unnamed: {"type": "int", "name": ...} then {"type": "int"}
        ({"type": "int", "name": "test_schema_same_subject_unnamed_1"}, {"type": "int"}),
        ({"type": "string", "doc": "d", "aliases": ["a"], "namespace": "n"}, "string"),
        # the array of Karapace test_union_comparing_to_other_types carries a "name"
        ({"type": "array", "name": "listofstrings", "items": "string"}, {"type": "array", "items": "string"}),
        ({"type": "map", "values": "long", "doc": "d"}, {"type": "map", "values": "long"}),
        (
            {"type": "record", "name": "R", "fields": [], "items": "int"},
            {"type": "record", "name": "R", "fields": []},
        ),
    ],
)
def test_lookup_ignores_the_attributes_avro_drops(
    client: TestClient, registered: Any, looked_up: Any
) -> None:
    # Java Avro's Schema.parse skips its reserved attributes (doc, name, namespace, aliases, fields,
    # items, size, symbols, values) where a type has no use for them, so Confluent's canonical text,
    # and with it the id, are those of the plain type
    schema_id = register(client, "s", registered)
    found = client.post("/subjects/s", json=body(looked_up))
    assert found.status_code == 200, found.text
    assert (found.json()["id"], found.json()["version"]) == (schema_id, 1)
    plain = looked_up["type"] if isinstance(looked_up, dict) and len(looked_up) == 1 else looked_up
    assert json.loads(client.get(f"/schemas/ids/{schema_id}").json()["schema"]) == plain
    assert register(client, "s", looked_up) == schema_id
    assert client.get("/subjects/s/versions").json() == [1]


def test_other_properties_of_a_primitive_are_kept(client: TestClient) -> None:
    # Regression guard. Java Avro keeps any non-reserved property of a primitive (Schema.equals
    # compares them): Karapace test_schema_lifecycle reads "foo" back by id, and such a schema is
    # not "string", so looking "string" up is 40403, as in Confluent
    schema_id = register(client, "s", {"type": "string", "foo": "bar"})
    assert json.loads(client.get(f"/schemas/ids/{schema_id}").json()["schema"]) == {
        "type": "string",
        "foo": "bar",
    }
    assert error(client.post("/subjects/s", json=body("string")))[:2] == (404, 40403)


# -- incompatible schemas ---------------------------------------------------------------------------
def my_record(*names: str) -> dict[str, Any]:
    return {"type": "record", "name": "myrecord", "fields": [{"type": "string", "name": n} for n in names]}


def test_an_incompatible_registration_is_40901_with_confluents_details(client: TestClient) -> None:
    # RestApiTest.testIncompatibleSchemaBySubject: schema3 is compatible with the latest version but
    # not with version 1 under FORWARD_TRANSITIVE; registering it fails with
    # Errors.INCOMPATIBLE_SCHEMA_ERROR_CODE (40901 since Confluent 8.0.4/8.2, HTTP 409) and a message
    # naming oldSchemaVersion, oldSchema and compatibility
    register(client, "testSubject", my_record("f1", "f2"))
    register(client, "testSubject", my_record("f1"))
    client.put("/config/testSubject", json={"compatibility": "FORWARD_TRANSITIVE"})
    schema3 = body(my_record("f1", "f3"))
    latest = client.post("/compatibility/subjects/testSubject/versions/latest", json=schema3)
    assert latest.json() == {"is_compatible": True}
    every = client.post("/compatibility/subjects/testSubject/versions?verbose=true", json=schema3).json()
    assert every["is_compatible"] is False
    assert every["messages"][-3:] == [
        "{oldSchemaVersion: 1}",
        "{oldSchema: '" + client.get("/subjects/testSubject/versions/1").json()["schema"] + "'}",
        "{validateFields: 'false', compatibility: 'FORWARD_TRANSITIVE'}",
    ]
    status, code, message = error(client.post("/subjects/testSubject/versions", json=schema3))
    assert (status, code) == (409, 40901)
    prefix = (
        'Schema being registered is incompatible with an earlier schema for subject "testSubject", details: ['
    )
    assert message.startswith(prefix) and message.endswith("]")
    assert all(part in message for part in ("oldSchemaVersion:", "oldSchema:", "compatibility:"))


def test_invalid_compatibility_level_message_is_confluents(client: TestClient) -> None:
    # RestInvalidCompatibilityException's text does not repeat the level
    assert error(client.put("/config", json={"compatibility": "SIDEWAYS"})) == (
        422,
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


# -- request bodies ---------------------------------------------------------------------------------
@pytest.mark.parametrize("request_body", [{"schema": ""}, {"schema": "  "}, {}, {"schema": None}])
def test_an_empty_schema_is_42201_empty_schema(client: TestClient, request_body: dict[str, Any]) -> None:
    # Karapace test_schema_missing_schema_body_ok ({"schema": ""}); Confluent reads a missing or null
    # "schema" as empty too (AbstractSchemaRegistry: InvalidSchemaException("Empty schema"))
    assert error(client.post("/subjects/s/versions", json=request_body)) == (422, 42201, "Empty schema")
    url = "/compatibility/subjects/s/versions/latest"
    assert error(client.post(url, json=request_body)) == (422, 42201, "Empty schema")
    verbose = client.post(f"{url}?verbose=true", json=request_body).json()
    assert verbose == {"is_compatible": False, "messages": ["Empty schema"]}
    # lookUpSchemaUnderSubject matches nothing with an empty schema
    assert error(client.post("/subjects/s", json=request_body))[:2] == (404, 40401)


def test_an_empty_schema_registers_the_latest_again(client: TestClient) -> None:
    # AbstractSchemaRegistry.maybePopulateFromPrevious: with a live version, an empty schema is
    # that version's schema (how Confluent clients change only metadata), so the id comes back
    schema_id = register(client, "s", RECORD)
    assert client.post("/subjects/s/versions", json={}).json() == {"id": schema_id}
    assert client.get("/subjects/s/versions").json() == [1]


@pytest.mark.parametrize("payload", ["-1", '"invalid"', "[]", '{"schema": {"type": "string"}}'])
@pytest.mark.parametrize(
    "path", ["/subjects/s/versions", "/subjects/s", "/compatibility/subjects/s/versions"]
)
def test_a_body_jackson_cannot_map_is_400(client: TestClient, path: str, payload: str) -> None:
    # rest-utils' JsonParseExceptionMapper / JsonMappingExceptionMapper: HTTP 400, error_code 400
    # (Karapace test_compatibility_endpoint posts -1 and answers 422; Confluent's Jackson cannot
    # build a RegisterSchemaRequest from a number, string, array or a "schema" object)
    response = client.post(path, content=payload, headers={"Content-Type": "application/json"})
    assert error(response)[:2] == (400, 400)


def test_a_number_as_schema_is_read_as_its_text(client: TestClient) -> None:
    # Jackson coerces a JSON number to the String property: "5" is then not a schema (42201)
    response = client.post("/subjects/s/versions", json={"schema": 5})
    assert error(response)[:2] == (422, 42201)


# -- boolean query parameters -----------------------------------------------------------------------
def test_boolean_query_parameters_read_as_java_booleans(client: TestClient) -> None:
    # JAX-RS converts a boolean @QueryParam with Boolean.valueOf: "true" in any case is true and
    # anything else is false, never an error. permanent=1 is therefore a soft delete in Confluent.
    register(client, "s", RECORD)
    assert client.delete("/subjects/s?permanent=1").json() == [1]
    assert client.get("/subjects/s/versions?deleted=yes").status_code == 404
    assert client.get("/subjects/s/versions?deleted=TRUE").json() == [1]
    response = client.post("/compatibility/subjects/s/versions?verbose=abc", json=body(RECORD))
    assert response.json() == {"is_compatible": True}


# -- server errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        # rest-utils' GenericExceptionMapper: no detail leaves the server
        (RuntimeError("bug"), (500, 500, "Internal Server Error")),
        # a store failure is Confluent's 50001 (RestSchemaRegistryStoreException)
        (sqlite3.OperationalError("disk I/O error"), (500, 50001, "Error in the backend data store")),
    ],
)
def test_server_errors(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception, expected: tuple[int, int, str]
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(Store, "subjects", fail)
    with TestClient(create_app(db_path), raise_server_exceptions=False) as client:
        assert error(client.get("/subjects")) == expected


def test_a_soft_deleted_version_read_with_deleted_true_says_so(client: TestClient) -> None:
    # RestApiTest.testDeleteSchemaVersionBasic: getVersion(subject, 2, true).getDeleted() is true
    register(client, "test", RECORD)
    register(client, "test", RECORD_V2)
    client.delete("/subjects/test/versions/2")
    assert client.get("/subjects/test/versions/2?deleted=true").json()["deleted"] is True
    assert client.post("/subjects/test?deleted=true", json=body(RECORD_V2)).json()["deleted"] is True
