"""SQL for everyone against the real stack: SQLPad over Trino, the kafka catalogs, ``dataplat sql``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trino
import typer
from typer.testing import CliRunner

from dataplat import sql_shell
from dataplat.paths import paths_for
from dataplat.runtime import Stack
from dataplat.secrets import get_secret
from dataplat.services import sqlpad
from dataplat.settings import Settings
from schemas import __file__ as schemas_init

CLICK_SCHEMA = (Path(schemas_init).parent / "appclickstream.avsc").read_text()


@pytest.fixture(scope="module")
def query(stack: Stack, settings: Settings) -> Iterator[Callable[[str], list[list[Any]]]]:
    connection = sql_shell.connect(settings, catalog="hive", schema="default", user="it-sql")

    def run(sql: str) -> list[list[Any]]:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()

    yield run
    connection.close()


def eventually(check: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 2.0) -> Any:
    """``check()``'s first truthy result; the last error or falsy result fails after ``timeout_s``."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
            last = result
        except trino.exceptions.TrinoQueryError as error:
            last = error
        time.sleep(every_s)
    raise AssertionError(f"not true after {timeout_s:.0f} s: {last}")


@pytest.fixture(scope="module")
def sqlpad_client(stack: Stack, settings: Settings) -> Iterator[httpx.Client]:
    password = get_secret(paths_for(settings).secrets_file, sqlpad.PASSWORD_SECRET)
    with httpx.Client(base_url=sqlpad.base_url(settings), timeout=60.0) as client:
        response = client.post("/api/signin", json={"email": sqlpad.ADMIN_EMAIL, "password": password})
        assert response.status_code == 200, response.text
        yield client


def test_sqlpad_has_the_trino_connections_and_saved_queries(sqlpad_client: httpx.Client) -> None:
    connections = {c["name"]: c for c in sqlpad_client.get("/api/connections").json()["connections"]}
    assert {"Trino lake (hive)", "Trino live clicks (kafka)"} <= set(connections)
    assert connections["Trino lake (hive)"]["prestoCatalog"] == "hive"
    saved = {q["name"] for q in sqlpad_client.get("/api/queries").json()["queries"]}
    assert {"insights", "grouped_insights", "clickstream counts"} <= saved


def test_sqlpad_runs_a_query_on_the_lake(sqlpad_client: httpx.Client) -> None:
    connections = {c["name"]: c["_id"] for c in sqlpad_client.get("/api/connections").json()["connections"]}
    body = {
        "connectionId": connections["Trino lake (hive)"],
        "queryText": "SELECT schema_name FROM information_schema.schemata ORDER BY 1",
        "cacheKey": uuid.uuid4().hex,
    }
    result = sqlpad_client.post("/api/query-result", json=body).json()
    assert "error" not in result, result
    schemas = [row["schema_name"] for row in result["queryResult"]["rows"]]
    assert "information_schema" in schemas and "default" in schemas


def test_sqlpad_admin_registration_is_closed(settings: Settings) -> None:
    response = httpx.post(
        f"{sqlpad.base_url(settings)}/api/signup",
        json={"email": f"{uuid.uuid4().hex}@example.org", "password": "x", "passwordConfirmation": "x"},
    )
    assert "not whitelisted" in response.text


def test_click_topic_is_a_table_with_the_avro_fields(
    query: Callable[[str], list[list[Any]]], settings: Settings
) -> None:
    topic = settings.lake.click_topic
    columns = [row[0] for row in eventually(lambda: query(f'DESCRIBE kafka.default."{topic}"'))]
    assert columns == [field["name"] for field in json.loads(CLICK_SCHEMA)["fields"]]
    [[count]] = query(f'SELECT count(*) FROM kafka.default."{topic}"')
    assert count >= 0


def test_kafka_catalog_decodes_registry_avro_live(
    query: Callable[[str], list[list[Any]]], settings: Settings
) -> None:
    """A fresh topic with the click schema: its Confluent-framed records are rows within seconds."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = "dataplat.sqltest"
    registry = SchemaRegistryClient({"url": settings.registry_url})
    registry.register_schema(f"{topic}-value", Schema(CLICK_SCHEMA, "AVRO"))
    serialize = AvroSerializer(
        registry, CLICK_SCHEMA, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    marker = f"it-{uuid.uuid4().hex[:8]}"
    producer = Producer(settings.kafka_client_config(acks="all"))
    for page in ("/home", "/cart", "/home"):
        record = {
            "username": marker,
            "page": page,
            "event_name": "click",
            "event_time": int(time.time() * 1000),
        }
        producer.produce(topic, serialize(record, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(15) == 0
    sql = (
        f'SELECT page, count(*) FROM kafka.default."{topic}" '
        f"WHERE username = '{marker}' GROUP BY page ORDER BY page"
    )
    assert eventually(lambda: query(sql)) == [["/cart", 1], ["/home", 2]]


def test_dead_letters_are_queryable(query: Callable[[str], list[list[Any]]], settings: Settings) -> None:
    from confluent_kafka import Producer

    topic = settings.lake.click_topic
    marker = uuid.uuid4().hex
    letter = {
        "topic": topic,
        "schema_id": 1,
        "errors": [{"field": "page", "kind": "missing"}],
        "record": {"username": marker},
        "rejected_at": "2026-01-01T00:00:00.000+00:00",
    }
    producer = Producer(settings.kafka_client_config(acks="all"))
    producer.produce(f"{topic}.dlq", json.dumps(letter).encode())
    assert producer.flush(15) == 0
    sql = (
        f"SELECT topic, json_extract_scalar(errors, '$[0].field') FROM kafka_dlq.default.{topic}_dlq "
        f"WHERE json_extract_scalar(record, '$.username') = '{marker}'"
    )
    assert eventually(lambda: query(sql)) == [[topic, "page"]]


def _sql_app() -> typer.Typer:
    app = typer.Typer()
    app.command()(sql_shell.sql)
    return app


def test_sql_command_runs_statements_with_the_preset(stack: Stack) -> None:
    result = CliRunner().invoke(_sql_app(), ["-o", "csv", "-e", "SELECT 1 AS one; SHOW CATALOGS"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["one", "1"]
    assert {"hive", "kafka"} <= set(lines[3:])


def test_sql_command_fails_on_a_bad_statement(stack: Stack) -> None:
    result = CliRunner().invoke(_sql_app(), ["-e", "SELECT * FROM no_such_table"])
    assert result.exit_code == 1
    assert "does not exist" in result.output
