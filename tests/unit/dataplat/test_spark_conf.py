"""Spark's defaults: Iceberg's catalog ``iceberg`` on the metastore once its runtime is installed."""

from __future__ import annotations

from pathlib import Path

from dataplat.paths import paths_for
from dataplat.settings import Settings
from dataplat.spark_conf import spark_conf

ICEBERG_JAR = "iceberg-spark-runtime-4.0_2.13-1.10.2.jar"


def settings(tmp_path: Path, jars: tuple[str, ...] = ()) -> Settings:
    s = Settings(home=tmp_path / "home", cache=tmp_path / "cache", ports={"metastore": 19083})  # type: ignore[arg-type]
    folder = paths_for(s).dist / "spark" / "jars"
    folder.mkdir(parents=True)
    for name in jars:
        (folder / name).touch()
    return s


def test_iceberg_catalog_on_the_metastore(tmp_path: Path) -> None:
    s = settings(tmp_path, ("spark-avro_2.13-4.0.1.jar", ICEBERG_JAR))
    conf = spark_conf(s)
    assert conf["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    assert conf["spark.sql.catalog.iceberg"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.iceberg.type"] == "hive"
    assert conf["spark.sql.catalog.iceberg.uri"] == conf["spark.hadoop.hive.metastore.uris"]
    assert conf["spark.sql.catalog.iceberg.uri"] == "thrift://127.0.0.1:19083"
    assert conf["spark.sql.catalog.iceberg.warehouse"] == conf["spark.sql.warehouse.dir"]
    assert conf["spark.sql.catalog.iceberg.table-default.format-version"] == "2"  # what Trino 476 reads
    assert ICEBERG_JAR in conf["spark.jars"]
    assert not any("lock-enabled" in key for key in conf)  # commits take the metastore's locks


def test_no_iceberg_conf_without_its_runtime(tmp_path: Path) -> None:
    conf = spark_conf(settings(tmp_path, ("spark-avro_2.13-4.0.1.jar",)))
    assert not any("iceberg" in key for key in conf)
    assert "spark.sql.extensions" not in conf
