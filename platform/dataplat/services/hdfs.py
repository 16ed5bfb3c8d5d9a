"""HDFS: one NameNode and one DataNode, run from the Maven-installed Hadoop jars.

``hdfs-format`` formats the NameNode once; ``hdfs-init`` creates the lake's folders once
both daemons are healthy (:mod:`dataplat.setup.hdfs`).
"""

from __future__ import annotations

import getpass
from typing import Any

from dataplat.jvm import java_command
from dataplat.probes import http_probe
from dataplat.spec import Condition, ConfigFile, Context, Kind, ServiceSpec

GROUP = "hdfs"
NAMENODE_MAIN = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE_MAIN = "org.apache.hadoop.hdfs.server.datanode.DataNode"
TEMPLATES = ("core-site.xml", "hdfs-site.xml", "log4j.properties")

# Hadoop 3.4 reflects into these JDK internals; Java 17 denies it unless opened.
ADD_OPENS = tuple(
    f"--add-opens=java.base/{package}=ALL-UNNAMED"
    for package in (
        "java.lang",
        "java.lang.invoke",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.security",
        "sun.nio.ch",
        "sun.nio.cs",
        "sun.security.action",
        "sun.util.calendar",
    )
)


def _java(ctx: Context, heap_mib: int, main: str, *args: str) -> tuple[str, ...]:
    conf = ctx.paths.conf / "hdfs"
    home = ctx.paths.dist / "hadoop"
    return java_command(
        ctx,
        main=main,
        heap_mb=heap_mib,
        initial_heap_mb=min(heap_mib, 128),
        jvm_flags=("-XX:+UseSerialGC", *ADD_OPENS),
        system_properties={
            "hadoop.home.dir": home,
            "hadoop.log.dir": ctx.paths.logs,
            "log4j.configuration": f"file:{conf / 'log4j.properties'}",
            "java.net.preferIPv4Stack": "true",
        },
        classpath=(conf, home / "web", home / "lib" / "*"),  # web/ holds webapps/<server>
        args=args,
    )


def _jmx_bean(body: Any) -> dict[str, Any]:
    beans: list[dict[str, Any]] = body["beans"]
    if not beans:
        raise ValueError("bean not registered yet")
    return beans[0]


def _namenode_check(body: Any) -> str | None:
    """Writable: out of safe mode, with at least one live DataNode."""
    bean = _jmx_bean(body)
    if bean["FSState"] != "Operational":
        return f"namenode in {bean['FSState']}"
    if bean["NumLiveDataNodes"] < 1:
        return "namenode has no live datanode"
    return None


def _datanode_check(body: Any) -> str | None:
    """Registered: the NameNode counts it live (asking the DataNode's own JMX before
    registration logs a stack trace per request)."""
    if _jmx_bean(body)["NumLiveDataNodes"] < 1:
        return "datanode not registered with the namenode yet"
    return None


def lake_dirs(ctx: Context, user: str) -> tuple[str, ...]:
    """``path=mode`` of every folder hdfs-init creates (owned by the platform's user)."""
    lake = ctx.settings.lake
    modes = {
        "/tmp": "1777",  # noqa: S108 - an HDFS path
        "/user": "755",
        f"/user/{user}": "755",
        lake.root: "775",
        lake.warehouse: "775",
    }
    return tuple(f"{path}={mode}" for path, mode in modes.items())


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    user = getpass.getuser()
    conf, data = paths.conf / "hdfs", paths.data / "hdfs"
    configs = tuple(ConfigFile(f"hdfs/{name}", conf / name) for name in TEMPLATES)
    nn_jmx = f"http://{s.bind_host}:{s.ports.namenode_http}/jmx"
    return [
        ServiceSpec(
            name="hdfs-format",
            kind=Kind.ONESHOT,
            argv=_java(ctx, s.heaps.namenode, NAMENODE_MAIN, "-format", "-nonInteractive"),
            configs=configs,
            creates=data / "name" / "current" / "VERSION",
            group=GROUP,
            hint=f"remove {data} to reformat (destroys all HDFS data)",
        ),
        ServiceSpec(
            name="namenode",
            argv=_java(ctx, s.heaps.namenode, NAMENODE_MAIN),
            probe=http_probe(
                f"{nn_jmx}?qry=Hadoop:service=NameNode,name=FSNamesystemState",
                check=_namenode_check,
            ),
            ports={"rpc": s.ports.namenode_rpc, "http": s.ports.namenode_http},
            depends_on={"hdfs-format": Condition.COMPLETED},
            configs=configs,
            group=GROUP,
            hint="healthy only once the datanode has registered and safe mode is off",
            url=s.webhdfs_url,
        ),
        ServiceSpec(
            name="datanode",
            argv=_java(ctx, s.heaps.datanode, DATANODE_MAIN),
            probe=http_probe(
                f"{nn_jmx}?get=Hadoop:service=NameNode,name=FSNamesystemState::NumLiveDataNodes",
                check=_datanode_check,
            ),
            ports={
                "data": s.ports.datanode_data,
                "http": s.ports.datanode_http,
                "ipc": s.ports.datanode_ipc,
            },
            # Not namenode-healthy: the namenode leaves safe mode only after this registers.
            depends_on={"hdfs-format": Condition.COMPLETED},
            configs=configs,
            group=GROUP,
            hint="a clusterID mismatch in the log means the namenode was reformatted: remove the data dir",
            url=f"http://{s.host}:{s.ports.datanode_http}",
        ),
        ServiceSpec(
            name="hdfs-init",
            kind=Kind.ONESHOT,
            argv=(
                str(ctx.python_bin),
                "-m",
                "dataplat.setup.hdfs",
                s.webhdfs_url,
                user,
                *lake_dirs(ctx, user),
            ),
            depends_on={"namenode": Condition.HEALTHY, "datanode": Condition.HEALTHY},
            group=GROUP,
        ),
    ]
