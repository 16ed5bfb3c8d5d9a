"""Hive Metastore 2.3 (the one Spark 4.0's Hive client speaks), run from pyspark's own jars.

A Thrift server on ``bind_host:ports.metastore`` whose catalog lives in the platform's PostgreSQL
(database and role ``metastore`` of :mod:`dataplat.services.postgres`), so more than one metastore
process can serve it and table locks (Iceberg commits from Spark and Trino) work; tables' files live
under ``hdfs_uri + lake.warehouse``. Readiness is a real Thrift call. Hive 2.3's own ``HiveMetaStore``
listens on every interface whatever it is told, so it is started through ``BoundMetaStore``
(``platform/jvm/metastore/``): Hive's start-up with the socket on one address.

``metastore-schema`` (oneshot, once) creates the schema with Hive's own schema tool
(``MetastoreSchema`` in the same module: ``HiveSchemaTool`` and Hive's PostgreSQL scripts, which
``dataplat install`` takes from Maven Central), transaction and lock tables included. ``hive-site.xml``
holds the role's password, so it is written 0600 (by :func:`write_hive_site`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from dataplat.jvm import java_command
from dataplat.probes import callable_probe
from dataplat.render import render_config
from dataplat.services import postgres
from dataplat.spec import Condition, ConfigFile, Context, Kind, Probe, ServiceSpec

MAIN = "dev.dataplat.metastore.BoundMetaStore"  # org.apache.hadoop.hive.metastore.HiveMetaStore, bound
SCHEMA_MAIN = "dev.dataplat.metastore.MetastoreSchema"  # Hive's HiveSchemaTool: init + upgrade to 2.3.0
BIND_HOST = "hive.metastore.thrift.bind.host"  # the launcher's setting (Hive 3+'s name for it)
TEMPLATES = ("core-site.xml", "log4j2.properties")  # hive-site.xml: write_hive_site (it holds a password)
DATABASE = postgres.METASTORE
JDBC_DRIVER = "org.postgresql.Driver"
SCHEMA_VERSION = "2.3.0"  # what Hive 2.3.10's schema tool creates and its metastore verifies
# log4j2's default selector breaks with Hive's isolated loaders on Java 17
LOG4J2_SELECTOR = "org.apache.logging.log4j.core.selector.ClassLoaderContextSelector"

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
    """``BoundMetaStore`` and ``MetastoreSchema``, built by ``dataplat install`` against pyspark's jars."""
    return ctx.paths.dist / "metastore" / "dataplat-metastore.jar"


def hive_home(ctx: Context) -> Path:
    """The ``HIVE_HOME`` layout the schema tool reads: ``scripts/metastore/upgrade/postgres/*.sql``."""
    return ctx.paths.dist / "metastore" / "hive-home"


def schema_marker(ctx: Context) -> Path:
    """Written by ``metastore-schema`` once the schema is at :data:`SCHEMA_VERSION` with lock tables."""
    return ctx.paths.data / "metastore" / f"schema-{SCHEMA_VERSION}"


def jdbc(ctx: Context) -> dict[str, str]:
    """``hive-site.xml``'s JDBC settings: the metastore's own database and role (password included)."""
    return {
        "url": postgres.jdbc_url(ctx.settings, DATABASE),
        "driver": JDBC_DRIVER,
        "user": DATABASE.role,
        "password": postgres.password(ctx.paths, DATABASE),
    }


def hive_site(ctx: Context) -> ConfigFile:
    return ConfigFile("metastore/hive-site.xml", ctx.paths.conf / "metastore" / "hive-site.xml", mode=0o600)


def write_hive_site(ctx: Context) -> Path:
    """Render ``conf/metastore/hive-site.xml`` (0600: it holds the role's password, never argv)."""
    return render_config(hive_site(ctx), ctx, jdbc=jdbc(ctx))


def _java(ctx: Context, spark_home: Path, main: str, heap_mb: int, *args: str) -> tuple[str, ...]:
    conf = ctx.paths.conf / "metastore"
    return java_command(
        ctx,
        main=main,
        heap_mb=heap_mb,
        initial_heap_mb=min(heap_mb, 128),
        jvm_flags=("-XX:+UseSerialGC",),
        system_properties={
            "log4j2.contextSelector": LOG4J2_SELECTOR,
            "log4j2.configurationFile": conf / "log4j2.properties",
            "java.net.preferIPv4Stack": "true",
        },
        # hive-site.xml from conf; the JDBC driver; Hive 2.3, DataNucleus and DBCP from pyspark
        classpath=(
            conf,
            launcher_jar(ctx),
            ctx.paths.dist / "metastore" / "lib" / "*",
            spark_home / "jars" / "*",
        ),
        args=args,
    )


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    if ctx.spark_home is None:
        raise ModuleNotFoundError("the metastore runs from pyspark's jars: install pyspark")
    conf = ctx.paths.conf / "metastore"
    configs = tuple(ConfigFile(f"metastore/{name}", conf / name) for name in TEMPLATES)
    marker = schema_marker(ctx)
    schema = ServiceSpec(
        name="metastore-schema",
        kind=Kind.ONESHOT,
        argv=_java(ctx, ctx.spark_home, SCHEMA_MAIN, 256, str(hive_home(ctx)), str(marker)),
        depends_on=postgres.depends(s),
        configs=configs,
        setup=(write_hive_site,),
        creates=marker,
        hint=(
            f"see {ctx.log_file('metastore-schema')}; Hive's schema tool on database {DATABASE.name} "
            f"at {s.postgres_host}:{s.postgres_port} (empty, or made by this tool)"
        ),
    )
    server_args = ("-p", str(s.ports.metastore), "--hiveconf", f"{BIND_HOST}={s.bind_host}")
    # native HDFS: wait for the lake's folders (hdfs-init) so the warehouse has the right owner
    depends = {"metastore-schema": Condition.COMPLETED}
    if not s.external.hdfs_uri:
        depends["hdfs-init"] = Condition.COMPLETED
    server = ServiceSpec(
        name="metastore",
        argv=_java(ctx, ctx.spark_home, MAIN, s.heaps.metastore, *server_args),
        probe=metastore_probe(f"thrift://{s.bind_host}:{s.ports.metastore}"),
        ports={"thrift": s.ports.metastore},
        depends_on=depends,
        configs=configs,
        setup=(write_hive_site,),
        hint=f"see {ctx.log_file('metastore')}; its catalog is database {DATABASE.name} in PostgreSQL",
        url=s.metastore_uri,
    )
    return [schema, server]
