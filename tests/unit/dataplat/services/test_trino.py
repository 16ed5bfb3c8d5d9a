"""The Trino spec: exact JVM command line on the modern JDK, loopback, catalogs as rendered configs."""

from __future__ import annotations

from dataplat.render import render_text
from dataplat.services import trino
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA_MODERN, MakeContext

JVM_FLAGS = (
    "-XX:+UseG1GC", "-XX:+ExplicitGCInvokesConcurrent", "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow", "-XX:ReservedCodeCacheSize=256M",
    "-XX:PerMethodRecompilationCutoff=10000", "-XX:PerBytecodeRecompilationCutoff=10000",
    "-XX:+EnableDynamicAgentLoading", "-Djdk.attach.allowAttachSelf=true",
    "-Djdk.nio.maxCachedBufferSize=2000000", "-Dfile.encoding=UTF-8",
    "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow",
)  # fmt: skip


def test_jvm_command_line(ctx: Context) -> None:
    [spec] = trino.specs(ctx)
    conf = ctx.paths.conf / "trino"
    assert spec.argv == (
        f"{JAVA_MODERN}/bin/java", "-Xmx1536m", "-Xms256m", *JVM_FLAGS,
        f"-Dconfig={conf}/config.properties",
        f"-Dlog.levels-file={conf}/log.properties",
        "-cp", f"{ctx.paths.dist}/trino/lib/*",
        "io.trino.server.TrinoServer",
    )  # fmt: skip


def test_small_heap_starts_at_its_maximum(make_context: MakeContext) -> None:
    [spec] = trino.specs(make_context(heaps={"trino": 200}))
    assert spec.argv[1:3] == ("-Xmx200m", "-Xms200m")


def test_port_dependencies_and_probe(ctx: Context, make_context: MakeContext) -> None:
    [spec] = trino.specs(ctx)
    assert spec.kind is Kind.DAEMON and spec.probe is not None
    assert spec.ports == {"http": 8080} and spec.url == "http://127.0.0.1:8080"
    assert spec.cwd == ctx.paths.data / "trino"
    assert spec.depends_on == {"metastore": Condition.HEALTHY}
    [external] = trino.specs(make_context(external={"metastore_uri": "thrift://hms.example:9083"}))
    assert external.depends_on == {}


def test_configs_include_the_catalogs(ctx: Context) -> None:
    [spec] = trino.specs(ctx)
    conf = ctx.paths.conf / "trino"
    targets = {str(config.target.relative_to(conf)): config.template for config in spec.configs}
    assert targets == {
        "config.properties": "trino/config.properties",
        "log.properties": "trino/log.properties",
        "core-site.xml": "metastore/core-site.xml",
        "catalog/hive.properties": "catalog/trino/hive.properties",
        "catalog/iceberg.properties": "catalog/trino/iceberg.properties",
        "catalog/kafka.properties": "catalog/trino/kafka.properties",
        "catalog/kafka_dlq.properties": "catalog/trino/kafka_dlq.properties",
        "catalog/postgresql.properties": "catalog/trino/postgresql.properties",
        "kafka/appclickstream_dlq.json": "catalog/kafka/appclickstream_dlq.json",
    }
    texts = {name: render_text(template, ctx) for name, template in targets.items()}
    assert "node.bind-ip=127.0.0.1\n" in texts["config.properties"]
    assert "http-server.http.port=8080\n" in texts["config.properties"]
    assert "hive.metastore.uri=thrift://127.0.0.1:9083\n" in texts["catalog/hive.properties"]
    assert "kafka.nodes=127.0.0.1:9092\n" in texts["catalog/kafka.properties"]


def test_iceberg_catalog_shares_the_metastore_with_spark(ctx: Context) -> None:
    """Trino's ``iceberg`` is Spark's ``iceberg`` (spark_conf): Iceberg tables in the same metastore."""
    text = render_text("catalog/trino/iceberg.properties", ctx)
    assert "connector.name=iceberg\n" in text
    assert "iceberg.catalog.type=hive_metastore\n" in text
    assert f"hive.metastore.uri={ctx.settings.metastore_uri}\n" in text
    assert f"hive.config.resources={ctx.paths.conf}/trino/core-site.xml\n" in text
    assert "iceberg.format-version=2\n" in text


def test_catalog_texts_for_compose(ctx: Context) -> None:
    texts = trino.catalog_texts(ctx)
    assert sorted(texts) == [
        "catalog/hive.properties",
        "catalog/iceberg.properties",
        "catalog/kafka.properties",
        "catalog/kafka_dlq.properties",
        "catalog/postgresql.properties",
        "kafka/appclickstream_dlq.json",
    ]
    assert f"hive.config.resources={ctx.paths.conf}/trino/core-site.xml\n" in texts["catalog/hive.properties"]
