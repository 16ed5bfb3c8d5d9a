"""The ingest service's settings: ``INGEST_*`` environment variables, nothing else.

The Kafka bootstrap servers and the registry URL have no default (there is no right guess for a
service that runs anywhere); a missing one fails the start with the variable's name. Everything
else has the default a user of this service alone would expect (bound to loopback, no API key).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

ENV_PREFIX = "INGEST_"
REQUIRED = {  # field: what to set it to (the error names the variable and says this)
    "kafka_bootstrap": "the Kafka bootstrap servers, e.g. localhost:9092",
    "registry_url": "the schema registry's URL, e.g. http://localhost:8081",
}
KafkaProperty = str | int | float | bool


class SettingsError(ValueError):
    """The environment does not configure the service; the message names each variable."""


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


@lru_cache(maxsize=64)
def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; anything else is reachable from outside."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class IngestSettings(BaseSettings):
    """Ingest API configuration (env prefix ``INGEST_``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    kafka_bootstrap: str  # required, e.g. broker1:9092,broker2:9092
    registry_url: str  # required: a Confluent-compatible registry's API root
    # extra librdkafka client properties, a JSON object (SASL, TLS: security.protocol, sasl.*...)
    kafka_properties: dict[str, KafkaProperty] = Field(default_factory=dict)
    bind_host: str = "127.0.0.1"  # the address uvicorn binds (decides whether a key is required)
    api_key: str | None = None
    require_api_key: bool | None = None  # None: required when bound beyond loopback
    max_body_bytes: int = 1_048_576
    max_batch_records: int = 1000
    delivery_timeout_ms: int = 10_000  # librdkafka message.timeout.ms: the bound on "written or 503"
    linger_ms: int = 1  # small: a single event waits for its own ack; concurrency batches anyway
    schema_cache_ttl_s: float = 30.0
    registry_timeout_s: float = 3.0
    retry_after_s: int = 5
    reject_unknown_fields: bool = True
    key_field: str | None = None  # record field used as the Kafka key (None: no key)
    dlq_enabled: bool = False
    dlq_suffix: str = ".dlq"

    @model_validator(mode="before")
    @classmethod
    def _endpoints_are_set(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unset = [key for key in REQUIRED if not data.get(key)]
            if unset:
                raise ValueError("; ".join(f"{env_name(key)} is not set: {REQUIRED[key]}" for key in unset))
        return data

    @model_validator(mode="after")
    def _auth_is_configured(self) -> IngestSettings:
        if self.auth_required and not self.api_key:
            raise ValueError(
                f"INGEST_API_KEY is required when binding to {self.bind_host} (beyond loopback); "
                "set it or INGEST_REQUIRE_API_KEY=false"
            )
        return self

    @property
    def auth_required(self) -> bool:
        if self.require_api_key is not None:
            return self.require_api_key
        return not is_loopback(self.bind_host)

    def kafka_config(self) -> dict[str, Any]:
        """librdkafka client config: the bootstrap servers and the extra properties."""
        return {"bootstrap.servers": self.kafka_bootstrap, **self.kafka_properties}

    def producer_config(self) -> dict[str, Any]:
        """librdkafka producer config: durable (acks=all, idempotent) with a bounded delivery time."""
        return {
            **self.kafka_config(),
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": self.linger_ms,
            "message.timeout.ms": self.delivery_timeout_ms,
            "statistics.interval.ms": 1000,  # broker states for fail-fast 503 and readiness
        }

    def registry_config(self) -> dict[str, Any]:
        return {
            "url": self.registry_url,
            "timeout": self.registry_timeout_s,
            "cache.latest.ttl.sec": self.schema_cache_ttl_s,
            "max.retries": 1,
            "retries.wait.ms": 200,
        }


def _explain(error: ValidationError) -> str:
    """One line per problem, each naming its environment variable."""
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field = problem["loc"][0] if problem["loc"] else None
        lines.append(f"{env_name(str(field))}: {message}" if field else message)
    return "; ".join(lines)


@lru_cache
def load_ingest_settings() -> IngestSettings:
    """The process-wide settings, read from the environment once.

    Raises :class:`SettingsError` naming each missing or invalid ``INGEST_*`` variable.
    """
    try:
        return IngestSettings()  # type: ignore[call-arg]  # required fields come from the environment
    except ValidationError as error:
        raise SettingsError(f"ingest API settings: {_explain(error)}") from None
    except SourceError as error:  # a complex value (INGEST_KAFKA_PROPERTIES) that is not JSON
        field = re.search(r'field "(\w+)"', str(error))
        name = env_name(field.group(1)) if field else f"an {ENV_PREFIX}* variable"
        raise SettingsError(f"ingest API settings: {name} is not valid JSON ({error})") from None


async def get_ingest_settings() -> IngestSettings:
    """The settings dependency (async: FastAPI then calls it on the event loop, no thread hop).

    Tests replace it with ``app.dependency_overrides[get_ingest_settings]``.
    """
    return load_ingest_settings()
