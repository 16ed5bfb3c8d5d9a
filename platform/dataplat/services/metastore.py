"""Hive Metastore 2.3 (the one Spark 4.0's Hive client speaks), run from pyspark's own jars.

A Thrift server on ``bind_host:ports.metastore`` backed by embedded Derby under ``data/metastore``;
tables' files live under ``hdfs_uri + lake.warehouse``. Readiness is a real Thrift call. Hive 2.3's
own ``HiveMetaStore`` listens on every interface whatever it is told, so it is started through
``BoundMetaStore`` (``platform/jvm/metastore/``): Hive's start-up with the socket on one address.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from dataplat.jvm import java_command
from dataplat.probes import callable_probe
from dataplat.spec import Condition, ConfigFile, Context, Probe, ServiceSpec

MAIN = "dev.dataplat.metastore.BoundMetaStore"  # org.apache.hadoop.hive.metastore.HiveMetaStore, bound
BIND_HOST = "hive.metastore.thrift.bind.host"  # the launcher's setting (Hive 3+'s name for it)
TEMPLATES = ("hive-site.xml", "core-site.xml", "log4j2.properties")

# thrift's TSocket logs every refused connection at ERROR while the server starts
logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)


def get_all_databases(host: str, port: int, timeout_s: float = 5.0) -> list[str]:
    """``ThriftHiveMetastore.get_all_databases()`` over the binary protocol (no generated stubs)."""
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.Thrift import TApplicationException, TMessageType, TType
    from thrift.transport.TSocket import TSocket
    from thrift.transport.TTransport import TBufferedTransport

    socket = TSocket(host, port)
    socket.setTimeout(timeout_s * 1000)
    transport = TBufferedTransport(socket)
    proto = TBinaryProtocol(transport)
    transport.open()
    try:
        proto.writeMessageBegin("get_all_databases", TMessageType.CALL, 1)
        proto.writeStructBegin("get_all_databases_args")
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        transport.flush()
        _, kind, _ = proto.readMessageBegin()
        if kind == TMessageType.EXCEPTION:
            error = TApplicationException()
            error.read(proto)
            raise error
        names: list[str] = []
        failure = ""
        proto.readStructBegin()
        while True:
            _, ftype, fid = proto.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 0 and ftype == TType.LIST:  # success: list<string>
                _, size = proto.readListBegin()
                names = [proto.readString() for _ in range(size)]
                proto.readListEnd()
            elif fid == 1 and ftype == TType.STRUCT:  # MetaException(1: string message)
                proto.readStructBegin()
                while (field := proto.readFieldBegin())[1] != TType.STOP:
                    if field[2] == 1 and field[1] == TType.STRING:
                        failure = proto.readString()
                    else:
                        proto.skip(field[1])
                    proto.readFieldEnd()
                proto.readStructEnd()
            else:
                proto.skip(ftype)
            proto.readFieldEnd()
        proto.readStructEnd()
        proto.readMessageEnd()
    finally:
        transport.close()
    if failure:
        raise RuntimeError(f"MetaException: {failure}")
    return names


def metastore_probe(uri: str) -> Probe:
    """Ready when ``get_all_databases`` answers and lists ``default`` (schema created)."""
    parts = urlsplit(uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or 9083

    def check() -> str | None:
        names = get_all_databases(host, port)
        return None if "default" in names else f"no default database yet: {names}"

    return callable_probe(f"metastore get_all_databases at {host}:{port}", check)


def launcher_jar(ctx: Context) -> Path:
    """``BoundMetaStore``, built by ``dataplat install`` against pyspark's jars."""
    return ctx.paths.dist / "metastore" / "dataplat-metastore.jar"


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    if ctx.spark_home is None:
        raise ModuleNotFoundError("the metastore runs from pyspark's jars: install pyspark")
    conf, data = paths.conf / "metastore", paths.data / "metastore"
    argv = java_command(
        ctx,
        main=MAIN,
        heap_mb=s.heaps.metastore,
        initial_heap_mb=min(s.heaps.metastore, 128),
        jvm_flags=("-XX:+UseSerialGC",),
        system_properties={
            # log4j2's default selector breaks with Hive's isolated loaders on Java 17
            "log4j2.contextSelector": "org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
            "log4j2.configurationFile": conf / "log4j2.properties",
            "derby.system.home": data,
            "derby.stream.error.file": paths.logs / "metastore-derby.log",
            "java.net.preferIPv4Stack": "true",
        },
        classpath=(conf, launcher_jar(ctx), ctx.spark_home / "jars" / "*"),
        args=("-p", str(s.ports.metastore), "--hiveconf", f"{BIND_HOST}={s.bind_host}"),
    )
    # native HDFS: wait for the lake's folders (hdfs-init) so the warehouse has the right owner
    depends = {} if s.external.hdfs_uri else {"hdfs-init": Condition.COMPLETED}
    return [
        ServiceSpec(
            name="metastore",
            argv=argv,
            probe=metastore_probe(f"thrift://{s.bind_host}:{s.ports.metastore}"),
            ports={"thrift": s.ports.metastore},
            depends_on=depends,
            configs=tuple(ConfigFile(f"metastore/{name}", conf / name) for name in TEMPLATES),
            hint=f"see {ctx.log_file('metastore')}; a stale {data}/metastore_db/*.lck means two owners",
            url=s.metastore_uri,
        ),
    ]
