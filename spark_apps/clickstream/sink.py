"""Idempotent, batch-keyed file writes into Hive partitions (through the Hadoop FileSystem API).

A batch's rows are written by Spark into ``<table>/_staging/<key>/`` (ignored by Hive and Trino:
the name starts with ``_``), one file per partition value, then each file is renamed with
OVERWRITE to ``<table>/<col>=<value>/<key>.parquet``. The target name depends only on the batch
id, so a replayed batch replaces its own files: never a double count, never a partial file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyspark.sql import DataFrame, SparkSession


class HadoopFs:
    """The few FileSystem/FileContext calls the sink needs, through py4j."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        jvm = spark._jvm  # type: ignore[attr-defined]
        assert jvm is not None
        self._jvm = jvm
        self._gateway = spark.sparkContext._gateway  # type: ignore[attr-defined]
        assert self._gateway is not None
        conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        self.fs = self.path(root).getFileSystem(conf)
        self.fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(self.fs.getUri(), conf)
        rename = jvm.org.apache.hadoop.fs.Options.Rename
        self._overwrite = self._gateway.new_array(rename, 1)
        self._overwrite[0] = rename.OVERWRITE

    def path(self, text: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(text)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self.path(path)))

    def mkdirs(self, path: str) -> None:
        self.fs.mkdirs(self.path(path))

    def delete(self, path: str, recursive: bool = True) -> None:
        self.fs.delete(self.path(path), recursive)

    def replace(self, source: str, target: str) -> None:
        """Atomic rename that replaces ``target`` (HDFS: one NameNode operation)."""
        self.fc.rename(self.path(source), self.path(target), self._overwrite)

    def list(self, path: str, glob: str = "*") -> list[str]:
        statuses = self.fs.globStatus(self.path(f"{path}/{glob}"))
        return [] if statuses is None else sorted(str(s.getPath().toString()) for s in statuses)


class PartitionRegistry:
    """Registers Hive partitions once each (``ALTER TABLE ADD IF NOT EXISTS PARTITION``)."""

    def __init__(self, spark: SparkSession, table: str, column: str) -> None:
        self.spark, self.table, self.column = spark, table, column
        rows = spark.sql(f"SHOW PARTITIONS {table}").collect()
        self.known = {row[0].split("=", 1)[1] for row in rows}

    def ensure(self, values: Iterable[str]) -> list[str]:
        added = []
        for value in sorted(set(values) - self.known):
            if not value.replace("-", "").isalnum():
                raise ValueError(f"refusing odd partition value {value!r}")
            self.spark.sql(f"ALTER TABLE {self.table} ADD IF NOT EXISTS PARTITION ({self.column}='{value}')")
            self.known.add(value)
            added.append(value)
        return added


class BatchSink:
    """Writes one keyed set of files per batch into a partitioned Parquet table."""

    def __init__(self, spark: SparkSession, table: str, location: str, column: str) -> None:
        self.location, self.column = location.rstrip("/"), column
        self.fs = HadoopFs(spark, self.location)
        self.fs.mkdirs(self.location)
        self.partitions = PartitionRegistry(spark, table, column)

    def staging(self, key: str) -> str:
        return f"{self.location}/_staging/{key}"

    def write(self, rows: DataFrame, key: str) -> dict[str, str]:
        """Write ``rows`` as ``<column>=<v>/<key>.parquet`` per value; returns {value: final path}."""
        staging = self.staging(key)
        self.fs.delete(staging)
        # one task => exactly one file per partition value, whatever the input partitioning
        rows.coalesce(1).write.mode("overwrite").partitionBy(self.column).parquet(staging)
        moves: dict[str, str] = {}
        for folder in self.fs.list(staging, f"{self.column}=*"):
            value = folder.rsplit("=", 1)[1]
            files = self.fs.list(folder, "part-*")
            if len(files) != 1:
                raise RuntimeError(f"expected one file in {folder}, found {len(files)}")
            moves[value] = files[0]
        if moves:
            for value in moves:
                self.fs.mkdirs(f"{self.location}/{self.column}={value}")
            self.partitions.ensure(moves)
        final = {}
        for value, source in moves.items():
            target = f"{self.location}/{self.column}={value}/{key}.parquet"
            self.fs.replace(source, target)
            final[value] = target
        self.fs.delete(staging)
        return final


def batch_key(batch_id: int) -> str:
    """File name stem of a micro-batch's increments: sorts in batch order."""
    return f"b{batch_id:012d}"


def compaction_key(through_batch: int) -> str:
    return f"c{through_batch:012d}"
