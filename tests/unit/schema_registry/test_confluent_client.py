"""confluent-kafka 2.16's SchemaRegistryClient and Avro serdes against a real local server."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

CLICK = {
    "type": "record",
    "name": "Click",
    "namespace": "dataplat.events",
    "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "page", "type": ["null", "string"], "default": None},
    ],
}
CLICK_V2 = {**CLICK, "fields": [*CLICK["fields"], {"name": "referrer", "type": "string", "default": ""}]}
CLICK_BREAKING = {**CLICK, "fields": [*CLICK["fields"], {"name": "session", "type": "string"}]}


def avro(schema: dict) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


@pytest.fixture
def registry(server_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server_url})


def test_client_calls(registry: SchemaRegistryClient) -> None:
    schema_id = registry.register_schema("clicks-value", avro(CLICK))
    assert registry.register_schema("clicks-value", avro(CLICK)) == schema_id
    latest = registry.get_latest_version("clicks-value")
    assert (latest.schema_id, latest.version, latest.subject) == (schema_id, 1, "clicks-value")
    assert json.loads(latest.schema.schema_str)["name"] == "Click"
    found = registry.lookup_schema("clicks-value", avro(CLICK))
    assert (found.schema_id, found.version) == (schema_id, 1)
    assert registry.get_schema(schema_id).schema_type == "AVRO"
    assert "clicks-value" in registry.get_subjects()
    assert registry.get_versions("clicks-value") == [1]
    assert registry.get_compatibility() == "BACKWARD"
    assert registry.set_compatibility("clicks-value", "FULL") == {"compatibility": "FULL"}
    assert registry.get_compatibility("clicks-value") == "FULL"
    assert registry.test_compatibility("clicks-value", avro(CLICK_V2)) is True
    assert registry.test_compatibility("clicks-value", avro(CLICK_BREAKING)) is False
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema("clicks-value", avro(CLICK_BREAKING))
    assert refused.value.http_status_code == 409
    assert registry.register_schema("clicks-value", avro(CLICK_V2)) != schema_id
    assert registry.get_schema_types() == ["AVRO"]


def test_client_errors_carry_confluent_codes(registry: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaRegistryError) as missing:
        registry.get_latest_version("no-such-subject")
    assert (missing.value.http_status_code, missing.value.error_code) == (404, 40401)
    with pytest.raises(SchemaRegistryError) as invalid:
        registry.register_schema("bad-value", Schema('{"type": "record", "name": "R"}', "AVRO"))
    assert invalid.value.error_code == 42201


@pytest.mark.parametrize("explicit_strategy", [True, False], ids=["topic-strategy", "default-strategy"])
def test_avro_serde_round_trip(registry: SchemaRegistryClient, explicit_strategy: bool) -> None:
    topic = f"rt-{explicit_strategy}"
    registry.register_schema(f"{topic}-value", avro(CLICK))
    conf = {"auto.register.schemas": False, "use.latest.version": True}
    if explicit_strategy:
        conf["subject.name.strategy"] = topic_subject_name_strategy
    # the default strategy first asks the Confluent-only associations API; our 404 makes it fall back
    serializer = AvroSerializer(registry, json.dumps(CLICK), conf=conf)
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry._rest_client.base_urls[0]}))
    context = SerializationContext(topic, MessageField.VALUE)
    event = {"user_id": "u1", "ts": 1_700_000_000_000, "page": "/home"}
    payload = serializer(event, context)
    assert payload[0] == 0  # Confluent wire format: magic byte, then the schema id
    decoded = deserializer(payload, context)
    assert decoded["user_id"] == "u1" and decoded["page"] == "/home"
    assert int(decoded["ts"].timestamp() * 1000) == event["ts"]
