"""Apache Kafka in KRaft mode: one JVM that is both broker and controller (no ZooKeeper)."""

from __future__ import annotations

import logging

from dataplat.jvm import java_command
from dataplat.probes import callable_probe
from dataplat.secrets import get_secret
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec

CLUSTER_ID_NAME = "kafka_cluster_id"
# As Kafka's kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS).
JVM_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)


def cluster_id(ctx: Context) -> str:
    """The KRaft cluster id, generated once and kept with the secrets (16 bytes, base64url)."""
    return get_secret(ctx.paths.secrets_file, CLUSTER_ID_NAME, length=16)


def _java(ctx: Context, heap_mb: int, main: str, *args: str) -> tuple[str, ...]:
    conf = ctx.paths.conf / "kafka"
    return java_command(
        ctx,
        main=main,
        heap_mb=heap_mb,
        jvm_flags=JVM_OPTS,
        system_properties={"log4j2.configurationFile": conf / "log4j2.properties"},
        classpath=(ctx.paths.dist / "kafka" / "lib" / "*",),
        args=args,
    )


def metadata_probe(ctx: Context) -> Probe:
    """Ready when the broker answers a metadata request that lists itself (unfenced)."""
    bootstrap = ctx.settings.kafka_bootstrap
    quiet = logging.getLogger("dataplat.kafka.probe")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False

    def check() -> str | None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(ctx.settings.kafka_client_config(logger=quiet))
        metadata = admin.list_topics(timeout=2)
        if not metadata.brokers:
            return f"{bootstrap}: no live brokers in metadata"
        if metadata.controller_id < 0:
            return f"{bootstrap}: no active controller"
        return None

    return callable_probe(f"kafka metadata from {bootstrap}", check)


def specs(ctx: Context) -> list[ServiceSpec]:
    conf = ctx.paths.conf / "kafka"
    server_properties = conf / "server.properties"
    configs = (
        ConfigFile("kafka/server.properties", server_properties),
        ConfigFile("kafka/log4j2.properties", conf / "log4j2.properties"),
    )
    ports = {"kafka": ctx.settings.ports.kafka, "kafka_controller": ctx.settings.ports.kafka_controller}
    return [
        ServiceSpec(
            name="kafka-format",
            kind=Kind.ONESHOT,
            argv=_java(
                ctx,
                256,
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(server_properties),
                "--cluster-id",
                cluster_id(ctx),
                "--ignore-formatted",
            ),
            configs=configs,
            creates=ctx.paths.data / "kafka" / "log" / "meta.properties",
            group="kafka",
            hint="KRaft storage format; a cluster-id mismatch means data/kafka belongs to another cluster",
        ),
        ServiceSpec(
            name="kafka",
            argv=_java(ctx, ctx.settings.heaps.kafka, "kafka.Kafka", str(server_properties)),
            probe=metadata_probe(ctx),
            configs=configs,
            ports=ports,
            depends_on={"kafka-format": Condition.COMPLETED},
            group="kafka",
            stop_timeout_s=30,
            hint=f"see {ctx.log_file('kafka')}; ports {', '.join(map(str, ports.values()))} must be free",
            url=f"kafka://{ctx.settings.kafka_bootstrap}",
        ),
        ServiceSpec(
            name="kafka-topics",
            kind=Kind.ONESHOT,  # idempotent: runs every `up`, creates only what is missing
            argv=(str(ctx.python_bin), "-m", "dataplat.topics"),
            depends_on={"kafka": Condition.HEALTHY},
            group="kafka",
            hint="creates the click topic and its dead-letter topic",
        ),
    ]
