"""The HDFS specs: exact JVM command lines, ports on loopback, order, probes, rendered configs."""

from __future__ import annotations

import getpass

from dataplat.render import render_text
from dataplat.services import hdfs
from dataplat.spec import Condition, Context, Kind

from .conftest import JAVA17, PYTHON, MakeContext, by_name

OPENS = [
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "java.security",
        "sun.nio.ch", "sun.nio.cs", "sun.security.action", "sun.util.calendar",
    )
]  # fmt: skip


def expected_java(ctx: Context, heap: int, initial: int, main: str, *args: str) -> tuple[str, ...]:
    conf, home = ctx.paths.conf / "hdfs", ctx.paths.dist / "hadoop"
    return (
        f"{JAVA17}/bin/java", f"-Xmx{heap}m", f"-Xms{initial}m", "-XX:+UseSerialGC", *OPENS,
        f"-Dhadoop.home.dir={home}",
        f"-Dhadoop.log.dir={ctx.paths.logs}",
        f"-Dlog4j.configuration=file:{conf}/log4j.properties",
        "-Djava.net.preferIPv4Stack=true",
        "-cp", f"{conf}:{home}/web:{home}/lib/*",
        main, *args,
    )  # fmt: skip


def test_jvm_command_lines(ctx: Context) -> None:
    specs = by_name(hdfs.specs(ctx))
    namenode = "org.apache.hadoop.hdfs.server.namenode.NameNode"
    assert specs["hdfs-format"].argv == expected_java(ctx, 384, 128, namenode, "-format", "-nonInteractive")
    assert specs["namenode"].argv == expected_java(ctx, 384, 128, namenode)
    datanode = "org.apache.hadoop.hdfs.server.datanode.DataNode"
    assert specs["datanode"].argv == expected_java(ctx, 256, 128, datanode)


def test_heaps_come_from_settings(make_context: MakeContext) -> None:
    ctx = make_context(heaps={"namenode": 100, "datanode": 1024})
    specs = by_name(hdfs.specs(ctx))
    assert specs["namenode"].argv[1:3] == ("-Xmx100m", "-Xms100m")
    assert specs["datanode"].argv[1:3] == ("-Xmx1024m", "-Xms128m")


def test_order_kinds_ports_and_probes(ctx: Context) -> None:
    specs = by_name(hdfs.specs(ctx))
    assert list(specs) == ["hdfs-format", "namenode", "datanode", "hdfs-init"]
    assert {spec.group for spec in specs.values()} == {"hdfs"}
    fmt, init = specs["hdfs-format"], specs["hdfs-init"]
    assert fmt.kind is Kind.ONESHOT and fmt.probe is None
    assert fmt.creates == ctx.paths.data / "hdfs" / "name" / "current" / "VERSION"
    assert specs["namenode"].ports == {"rpc": 8020, "http": 9870}
    assert specs["datanode"].ports == {"data": 9866, "http": 9864, "ipc": 9867}
    for name in ("namenode", "datanode"):
        assert specs[name].kind is Kind.DAEMON and specs[name].probe is not None
        assert specs[name].depends_on == {"hdfs-format": Condition.COMPLETED}
    assert init.kind is Kind.ONESHOT
    assert init.depends_on == {"namenode": Condition.HEALTHY, "datanode": Condition.HEALTHY}
    assert specs["namenode"].url == "http://127.0.0.1:9870"


def test_init_creates_the_lake_folders_as_the_user(ctx: Context) -> None:
    user = getpass.getuser()
    init = by_name(hdfs.specs(ctx))["hdfs-init"]
    assert init.argv == (
        str(PYTHON), "-m", "dataplat.setup.hdfs", "http://127.0.0.1:9870", user,
        "/tmp=1777", "/user=755", f"/user/{user}=755", "/lake=775", "/lake/warehouse=775",
    )  # fmt: skip


def test_configs_render_with_loopback_and_ports(ctx: Context) -> None:
    namenode = by_name(hdfs.specs(ctx))["namenode"]
    texts = {config.target.name: render_text(config.template, ctx) for config in namenode.configs}
    assert set(texts) == {"core-site.xml", "hdfs-site.xml", "log4j.properties"}
    assert all(config.target.parent == ctx.paths.conf / "hdfs" for config in namenode.configs)
    assert "hdfs://127.0.0.1:8020" in texts["core-site.xml"]
    for bind in ("namenode.rpc-bind-host", "namenode.http-bind-host", "namenode.servicerpc-bind-host"):
        assert f"<name>dfs.{bind}</name><value>127.0.0.1</value>" in texts["hdfs-site.xml"]
    assert "<name>dfs.datanode.address</name><value>127.0.0.1:9866</value>" in texts["hdfs-site.xml"]
    assert "0.0.0.0" not in texts["hdfs-site.xml"]
