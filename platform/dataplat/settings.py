"""The one configuration model: a TOML file plus ``DATAPLAT_*`` environment variables.

Every component's config is rendered from :class:`Settings`, so pointing the platform
at external clusters is a change here, not in code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE_ENV = "DATAPLAT_CONFIG"
DEFAULT_CONFIG_FILE = REPO_ROOT / "dataplat.toml"


class Ports(BaseModel):
    """Every listening port of the native stack (all bound to ``Settings.bind_host``)."""

    namenode_rpc: int = 8020
    namenode_http: int = 9870
    datanode_data: int = 9866
    datanode_http: int = 9864
    datanode_ipc: int = 9867
    metastore: int = 9083
    kafka: int = 9092
    kafka_controller: int = 9093
    registry: int = 8081
    trino: int = 8080
    airflow: int = 8280
    ingest_api: int = 8000
    source_api: int = 8001
    sqlpad: int = 3000
    superset: int = 8088
    postgres: int = 5432
    connect: int = 8083  # Kafka Connect's REST API
    supervisor: int = 9001


class Heaps(BaseModel):
    """Explicit JVM heap sizes in MiB (the idle budget is 6 GiB for the whole stack)."""

    namenode: int = 384
    datanode: int = 256
    metastore: int = 512
    kafka: int = 512
    registry: int = 320
    trino: int = 1536
    spark_driver: int = 1024
    connect: int = 384
    cdc_driver: int = 512  # the CDC Spark app's driver (local mode, micro-batches ≤ 50,000 changes)


class External(BaseModel):
    """Endpoints of the services; defaults point at the native stack on ``bind_host``.

    Set any of them to a real cluster and the matching native service is not needed.
    """

    hdfs_uri: str | None = None  # e.g. hdfs://namenode.example:8020
    webhdfs_url: str | None = None  # e.g. http://namenode.example:9870
    metastore_uri: str | None = None  # e.g. thrift://metastore.example:9083
    kafka_bootstrap: str | None = None  # e.g. broker1:9092,broker2:9092
    registry_url: str | None = None  # Confluent-compatible API root
    trino_url: str | None = None  # e.g. http://trino.example:8080
    connect_url: str | None = None  # an existing Kafka Connect cluster's REST API
    # an existing PostgreSQL instead of the native one (then ``postgres`` is not started); with the
    # admin's credentials ``postgres-setup`` creates the platform's roles and databases there, without
    # them those must exist with the passwords in the secrets file (``POSTGRES_<DB>_PASSWORD``)
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_admin_user: str | None = None
    postgres_admin_password: str | None = None
    spark_master: str = "local[*]"


class Postgres(BaseModel):
    """The native PostgreSQL's budget: Airflow's, the metastore's and Superset's metadata, and CDC."""

    shared_buffers_mb: int = Field(default=128, ge=16)
    work_mem_mb: int = Field(default=4, ge=1)
    # Airflow: 4 processes x (pool 5 + overflow 5), the metastore's two DBCP pools, Superset's pool,
    # setup, backup and psql: ~75 at most; the rest is headroom
    max_connections: int = Field(default=100, ge=20)
    # logical decoding for change data capture (Debezium's pgoutput slots)
    max_replication_slots: int = 4
    max_wal_senders: int = 4
    # OS user that owns and runs the cluster (the server refuses root); None: the platform's own
    # user, or the system user ``dataplat-pg`` when the platform runs as root
    os_user: str | None = None


class KafkaClient(BaseModel):
    """Extra librdkafka / Kafka client properties passed through unchanged (SASL, TLS...)."""

    properties: dict[str, str] = Field(default_factory=dict)


class Lake(BaseModel):
    """Where the lake's layers live on the default filesystem."""

    root: str = "/lake"
    warehouse: str = "/lake/warehouse"
    click_topic: str = "appclickstream"


class Cdc(BaseModel):
    """Change data capture: the operational database Debezium reads and the lake tables it feeds."""

    database: str = "condo"  # a platform database (role of the same name owns it)
    schema_name: str = "public"
    tables: tuple[str, ...] = ("condominiums", "residents", "properties", "transactions")
    heartbeat_table: str = "dataplat_heartbeat"  # Debezium's heartbeat.action.query writes here
    signal_table: str = "dataplat_signal"  # Debezium's signals (`dataplat cdc snapshot` writes here)
    topic_prefix: str = "condo"  # topics <prefix>.<schema>.<table>
    connector: str = "condo-postgres"
    slot: str = "dataplat_condo"
    publication: str = "dataplat_condo"
    replication_role: str = "cdc_replicator"  # LOGIN REPLICATION, SELECT on the captured tables
    raw_namespace: str = "raw"  # iceberg.raw.<database>_<table>_changes
    trusted_namespace: str = "trusted"  # iceberg.trusted.<database>_<table>
    dead_letter_table: str = "cdc_dead_letters"  # in raw_namespace
    trigger_s: float = 2.0  # micro-batch interval of the CDC app
    # how far back Iceberg time travel reaches (each kept snapshot grows the table's metadata file)
    snapshot_retention_hours: int = 6
    maintenance_interval_min: int = 30  # compaction + snapshot expiry, run by the app itself


class Settings(BaseSettings):
    """Platform configuration: ``dataplat.toml`` (or ``$DATAPLAT_CONFIG``) + ``DATAPLAT_*`` env."""

    model_config = SettingsConfigDict(
        env_prefix="DATAPLAT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = REPO_ROOT / ".dataplat"
    cache: Path | None = None  # Maven/uv/npm download cache; defaults to ~/.cache/dataplat
    bind_host: str = "127.0.0.1"
    advertised_host: str | None = None  # host name other machines use to reach us
    java17_home: Path | None = None
    java_modern_home: Path | None = None  # Java 24+, for Trino
    services: list[str] | None = None  # subset to run natively; None = all
    ports: Ports = Field(default_factory=Ports)
    heaps: Heaps = Field(default_factory=Heaps)
    external: External = Field(default_factory=External)
    kafka_client: KafkaClient = Field(default_factory=KafkaClient)
    postgres: Postgres = Field(default_factory=Postgres)
    lake: Lake = Field(default_factory=Lake)
    cdc: Cdc = Field(default_factory=Cdc)
    airflow_parallelism: int = 4
    # uvicorn worker processes of the ingest API (each with its own Kafka producer; the API is
    # stateless). 2 measured best on a 2-core machine: batch 2x and single events +10% over 1
    ingest_workers: int = Field(default=2, ge=1)
    ready_timeout_s: float = 180.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    # Derived endpoints: one source of truth for every client and template.
    @property
    def host(self) -> str:
        return self.advertised_host or self.bind_host

    @property
    def hdfs_uri(self) -> str:
        return self.external.hdfs_uri or f"hdfs://{self.host}:{self.ports.namenode_rpc}"

    @property
    def webhdfs_url(self) -> str:
        return self.external.webhdfs_url or f"http://{self.host}:{self.ports.namenode_http}"

    @property
    def metastore_uri(self) -> str:
        return self.external.metastore_uri or f"thrift://{self.host}:{self.ports.metastore}"

    @property
    def kafka_bootstrap(self) -> str:
        return self.external.kafka_bootstrap or f"{self.host}:{self.ports.kafka}"

    @property
    def registry_url(self) -> str:
        default = f"http://{self.host}:{self.ports.registry}/apis/ccompat/v7"
        return self.external.registry_url or default

    @property
    def trino_url(self) -> str:
        return self.external.trino_url or f"http://{self.host}:{self.ports.trino}"

    @property
    def postgres_host(self) -> str:
        return self.external.postgres_host or self.host

    @property
    def postgres_port(self) -> int:
        return self.external.postgres_port if self.external.postgres_host else self.ports.postgres

    @property
    def connect_url(self) -> str:
        return self.external.connect_url or f"http://{self.host}:{self.ports.connect}"

    @property
    def airflow_url(self) -> str:
        return f"http://{self.host}:{self.ports.airflow}"

    @property
    def ingest_url(self) -> str:
        return f"http://{self.host}:{self.ports.ingest_api}"

    @property
    def source_api_url(self) -> str:
        return f"http://{self.host}:{self.ports.source_api}"

    def kafka_client_config(self, **extra: Any) -> dict[str, Any]:
        """librdkafka config for any producer/consumer/admin of the platform."""
        return {"bootstrap.servers": self.kafka_bootstrap, **self.kafka_client.properties, **extra}


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` to reload)."""
    return Settings()
