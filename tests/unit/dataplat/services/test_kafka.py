"""The Kafka specs: exact JVM command lines (as kafka-run-class.sh), loopback listeners, order."""

from __future__ import annotations

from dataplat.render import render_text
from dataplat.services import kafka
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA17, PYTHON, MakeContext, by_name

PERFORMANCE = (
    "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
)  # fmt: skip


def expected_java(ctx: Context, heap: int, main: str, *args: str) -> tuple[str, ...]:
    conf = ctx.paths.conf / "kafka"
    return (
        f"{JAVA17}/bin/java", f"-Xmx{heap}m", *PERFORMANCE,
        f"-Dlog4j2.configurationFile={conf}/log4j2.properties",
        "-cp", f"{ctx.paths.dist}/kafka/lib/*",
        main, *args,
    )  # fmt: skip


def test_jvm_command_lines(ctx: Context) -> None:
    specs = by_name(kafka.specs(ctx))
    properties = str(ctx.paths.conf / "kafka" / "server.properties")
    cluster = kafka.cluster_id(ctx)
    assert len(cluster) >= 16
    assert specs["kafka-format"].argv == expected_java(
        ctx, 256, "kafka.tools.StorageTool",
        "format", "--config", properties, "--cluster-id", cluster, "--ignore-formatted",
    )  # fmt: skip
    assert specs["kafka"].argv == expected_java(ctx, 512, "kafka.Kafka", properties)


def test_cluster_id_is_generated_once(make_context: MakeContext) -> None:
    assert kafka.cluster_id(make_context()) == kafka.cluster_id(make_context())


def test_broker_heap_comes_from_settings(make_context: MakeContext) -> None:
    spec = by_name(kafka.specs(make_context(heaps={"kafka": 768})))["kafka"]
    assert spec.argv[1] == "-Xmx768m"


def test_order_kinds_ports_and_probe(ctx: Context) -> None:
    specs = by_name(kafka.specs(ctx))
    assert list(specs) == ["kafka-format", "kafka", "kafka-topics"]
    assert {spec.group for spec in specs.values()} == {"kafka"}
    fmt, broker, topics = specs["kafka-format"], specs["kafka"], specs["kafka-topics"]
    assert fmt.kind is Kind.ONESHOT and fmt.creates == ctx.paths.data / "kafka" / "log" / "meta.properties"
    assert broker.kind is Kind.DAEMON and broker.probe is not None
    assert broker.ports == {"kafka": 9092, "kafka_controller": 9093}
    assert broker.depends_on == {"kafka-format": Condition.COMPLETED}
    assert broker.url == "kafka://127.0.0.1:9092"
    assert topics.kind is Kind.ONESHOT and topics.creates is None  # every `up`: creates what is missing
    assert topics.argv == (str(PYTHON), "-m", "dataplat.topics")
    assert topics.depends_on == {"kafka": Condition.HEALTHY}


def test_listeners_bind_loopback(ctx: Context) -> None:
    broker = by_name(kafka.specs(ctx))["kafka"]
    texts = {config.target.name: render_text(config.template, ctx) for config in broker.configs}
    assert set(texts) == {"server.properties", "log4j2.properties"}
    assert "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n" in texts["server.properties"]
    assert "controller.quorum.voters=1@127.0.0.1:9093\n" in texts["server.properties"]
    assert f"log.dirs={ctx.paths.data}/kafka/log\n" in texts["server.properties"]
