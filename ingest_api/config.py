"""The ingest service's settings: ``INGEST_*`` environment variables over the platform's defaults."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dataplat.settings import get_settings


def _platform() -> Any:
    return get_settings()


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
    """Ingest API configuration (env prefix ``INGEST_``); endpoints default to the platform's."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore")

    kafka: dict[str, Any] = Field(default_factory=lambda: _platform().kafka_client_config())
    registry_url: str = Field(default_factory=lambda: _platform().registry_url)
    bind_host: str = Field(default_factory=lambda: _platform().bind_host)
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

    def producer_config(self) -> dict[str, Any]:
        """librdkafka producer config: durable (acks=all, idempotent) with a bounded delivery time."""
        return {
            **self.kafka,
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


@lru_cache
def get_ingest_settings() -> IngestSettings:
    """The process-wide settings; tests replace it with ``app.dependency_overrides``."""
    return IngestSettings()
