"""The metastore spec: the exact JVM command line, its port, dependencies, probe and configs."""

from __future__ import annotations

import pytest

from dataplat.render import render_text
from dataplat.services import metastore
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA17, SPARK_HOME, MakeContext


def test_jvm_command_line(ctx: Context) -> None:
    [spec] = metastore.specs(ctx)
    conf, data, logs = ctx.paths.conf / "metastore", ctx.paths.data / "metastore", ctx.paths.logs
    assert spec.argv == (
        f"{JAVA17}/bin/java", "-Xmx512m", "-Xms128m", "-XX:+UseSerialGC",
        "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
        f"-Dlog4j2.configurationFile={conf}/log4j2.properties",
        f"-Dderby.system.home={data}",
        f"-Dderby.stream.error.file={logs}/metastore-derby.log",
        "-Djava.net.preferIPv4Stack=true",
        "-cp", f"{conf}:{ctx.paths.dist}/metastore/dataplat-metastore.jar:{SPARK_HOME}/jars/*",
        "dev.dataplat.metastore.BoundMetaStore", "-p", "9083",
        "--hiveconf", "hive.metastore.thrift.bind.host=127.0.0.1",
    )  # fmt: skip


def test_binds_the_configured_host(make_context: MakeContext) -> None:
    """Hive 2.3's HiveMetaStore listens on 0.0.0.0; the launcher listens on ``bind_host`` only."""
    [spec] = metastore.specs(make_context(bind_host="10.1.2.3", ports={"metastore": 19083}))
    assert spec.argv[spec.argv.index("-cp") + 2 :] == (
        "dev.dataplat.metastore.BoundMetaStore", "-p", "19083",
        "--hiveconf", "hive.metastore.thrift.bind.host=10.1.2.3",
    )  # fmt: skip
    assert "org.apache.hadoop.hive.metastore.HiveMetaStore" not in spec.argv
    assert spec.url == "thrift://10.1.2.3:19083"


def test_port_dependencies_and_probe(ctx: Context) -> None:
    [spec] = metastore.specs(ctx)
    assert spec.name == "metastore" and spec.kind is Kind.DAEMON and spec.probe is not None
    assert spec.ports == {"thrift": 9083}
    assert spec.depends_on == {"hdfs-init": Condition.COMPLETED}
    assert spec.url == "thrift://127.0.0.1:9083"


def test_external_hdfs_needs_no_hdfs_init(make_context: MakeContext) -> None:
    [spec] = metastore.specs(make_context(external={"hdfs_uri": "hdfs://nn.example:8020"}))
    assert spec.depends_on == {}


def test_needs_pyspark(make_context: MakeContext) -> None:
    with pytest.raises(ModuleNotFoundError, match="pyspark"):
        metastore.specs(make_context(spark_home=None))


def test_configs_point_at_the_lake(ctx: Context) -> None:
    [spec] = metastore.specs(ctx)
    texts = {config.target.name: render_text(config.template, ctx) for config in spec.configs}
    assert set(texts) == {"hive-site.xml", "core-site.xml", "log4j2.properties"}
    assert "<value>hdfs://127.0.0.1:8020/lake/warehouse</value>" in texts["hive-site.xml"]
    assert "hdfs://127.0.0.1:8020" in texts["core-site.xml"]
