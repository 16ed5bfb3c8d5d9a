"""Spark's defaults for the platform: one conf dict, rendered as ``SPARK_CONF_DIR`` for users.

``spark-submit app.py`` (or ``SparkSession.builder.getOrCreate()``) with ``SPARK_CONF_DIR`` set
talks to the metastore, writes under the lake's warehouse and has the Kafka and Avro sources
(jars Maven installs under ``dist/spark/jars``: nothing is downloaded at submit time). With Iceberg's
runtime installed there too, the catalog ``iceberg`` holds Iceberg tables in the same metastore
(Trino's catalog of the same name reads and writes them) and Iceberg's SQL (``MERGE INTO``...) is on.
"""

from __future__ import annotations

from pathlib import Path

from dataplat.paths import Paths, paths_for
from dataplat.render import render_config
from dataplat.settings import Settings, get_settings
from dataplat.spec import ConfigFile, Context

TEMPLATES = ("spark-defaults.conf", "spark-env.sh")
ICEBERG_CATALOG = "iceberg"  # the same name as Trino's Iceberg catalog (catalog/trino/iceberg.properties)
ICEBERG_RUNTIME = "iceberg-spark-runtime-"  # the jar Maven installs (platform/jvm/spark/pom.xml)
ICEBERG_FORMAT_VERSION = "2"  # Trino 476's Iceberg (1.9.1) reads v2; newer defaults must not leak in


def warehouse_uri(settings: Settings) -> str:
    """The managed tables' root: ``lake.warehouse`` on the default filesystem."""
    return settings.hdfs_uri.rstrip("/") + settings.lake.warehouse


def connector_jars(paths: Paths) -> list[Path]:
    """Kafka/Avro connector jars (for pyspark's exact version) installed by Maven, if any."""
    folder = paths.dist / "spark" / "jars"
    return sorted(folder.glob("*.jar")) if folder.is_dir() else []


def spark_conf(settings: Settings | None = None) -> dict[str, str]:
    """Spark properties every job of the platform runs with."""
    s = settings or get_settings()
    paths = paths_for(s)
    conf = {
        "spark.master": s.external.spark_master,
        "spark.driver.memory": f"{s.heaps.spark_driver}m",
        "spark.driver.host": s.host,
        "spark.driver.bindAddress": s.bind_host,
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.hive.metastore.uris": s.metastore_uri,
        "spark.hadoop.fs.defaultFS": s.hdfs_uri,
        "spark.sql.warehouse.dir": warehouse_uri(s),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "8",  # 2 cores: the default 200 is pure overhead
        "spark.ui.showConsoleProgress": "false",
    }
    if jars := connector_jars(paths):
        conf["spark.jars"] = ",".join(str(jar) for jar in jars)
    if any(jar.name.startswith(ICEBERG_RUNTIME) for jar in jars):
        conf |= iceberg_conf(s)
    return conf


def iceberg_conf(settings: Settings) -> dict[str, str]:
    """Iceberg's SQL extensions and the catalog ``iceberg``: Iceberg's HiveCatalog on the metastore.

    Commits take the metastore's table locks (no ``lock-enabled=false``): its catalog is in PostgreSQL
    with Hive's transaction tables.
    """
    catalog = f"spark.sql.catalog.{ICEBERG_CATALOG}"
    return {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.type": "hive",
        f"{catalog}.uri": settings.metastore_uri,
        f"{catalog}.warehouse": warehouse_uri(settings),
        f"{catalog}.table-default.format-version": ICEBERG_FORMAT_VERSION,
    }


def spark_conf_path(ctx: Context) -> Path:
    """The ``SPARK_CONF_DIR`` of the platform's jobs (written by :func:`spark_conf_dir`)."""
    return ctx.paths.conf / "spark"


def spark_conf_dir(ctx: Context) -> Path:
    """Render ``spark-defaults.conf`` and ``spark-env.sh`` into ``conf/spark``; returns the folder."""
    folder = spark_conf_path(ctx)
    conf = spark_conf(ctx.settings)
    for name in TEMPLATES:
        render_config(ConfigFile(f"spark/{name}", folder / name), ctx, conf=conf)
    return folder


def spark_env(ctx: Context) -> dict[str, str]:
    """Environment for ``spark-submit``/pyspark: the conf dir (rendered by ``up``), Java 17, pyspark."""
    env = {"SPARK_CONF_DIR": str(spark_conf_path(ctx)), "JAVA_HOME": str(ctx.java17)}
    if ctx.spark_home is not None:
        env["SPARK_HOME"] = str(ctx.spark_home)
    return env
