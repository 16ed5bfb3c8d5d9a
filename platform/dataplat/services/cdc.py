"""The change-data-capture app: ``spark-submit spark_apps/cdc/app.py`` as a daemon (issue 14).

Debezium's topics -> Iceberg raw, trusted and dead-letter tables (see ``spark_apps/cdc``). Every
option is rendered from the settings: endpoints, the ``[cdc]`` names, the checkpoint on the lake's
filesystem. Spark's catalog ``iceberg`` comes from the platform's ``SPARK_CONF_DIR``.

Ready when the app's heartbeat file (:func:`dataplat.cdc_status.heartbeat_file`, refreshed every
10 s while the query runs) is fresh, the query has started and no batch step has run for longer than
``STUCK_S``. ``dataplat status`` reads the same file for the commit lag.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from dataplat.cdc_status import heartbeat_file
from dataplat.probes import callable_probe
from dataplat.services.streaming import native_dependency, submit_env
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spark_conf import ICEBERG_CATALOG, spark_conf_dir
from dataplat.spec import Condition, Context, Probe, ServiceSpec

APP = REPO_ROOT / "spark_apps" / "cdc" / "app.py"
FRESH_S = 30.0  # the app refreshes its heartbeat every 10 s
STUCK_S = 900.0  # one MERGE of a snapshot batch takes far less
CONNECT_SETUP = "connect-setup"  # registers the connector, natively or on external.connect_url


def heartbeat_probe(path: Path, fresh_s: float = FRESH_S, stuck_s: float = STUCK_S) -> Probe:
    """Ready when the query runs and its heartbeat is fresh; says why not (starting, stale, stuck)."""

    def check() -> str | None:
        if not path.exists():
            return f"no heartbeat yet at {path} (the app has not started)"
        beat = json.loads(path.read_text())
        state, now = beat.get("state"), time.time()
        if state == "terminated":
            return f"the CDC query terminated: {str(beat.get('error'))[:200]}"
        if state == "starting":
            return "the CDC app is starting its query"
        age = now - float(beat["ts"])
        if age >= fresh_s:
            return f"heartbeat is {age:.0f}s old (state {state})"
        since = beat.get("step_since")
        if state == "processing" and since is not None and now - float(since) > stuck_s:
            stuck = f"{now - float(since):.0f}s"
            return f"batch {beat.get('batch_id')} has been in step {beat.get('step')} for {stuck}"
        return None

    return callable_probe(f"cdc heartbeat {path.name}", check)


def app_args(ctx: Context) -> tuple[str, ...]:
    """The CDC app's options rendered from the settings."""
    s = ctx.settings
    cdc = s.cdc
    kafka = s.kafka_client.properties.items()
    return (
        "--bootstrap-servers", s.kafka_bootstrap,
        *(arg for key, value in kafka for arg in ("--kafka-property", f"{key}={value}")),
        "--topic-prefix", cdc.topic_prefix,
        "--schema", cdc.schema_name,
        "--tables", ",".join(cdc.tables),
        "--heartbeat-table", cdc.heartbeat_table,
        "--database", cdc.database,
        "--catalog", ICEBERG_CATALOG,
        "--raw-namespace", cdc.raw_namespace,
        "--trusted-namespace", cdc.trusted_namespace,
        "--dead-letter-table", cdc.dead_letter_table,
        "--checkpoint", f"{s.hdfs_uri}{s.lake.root}/_checkpoints/cdc",
        "--trigger-seconds", str(cdc.trigger_s),
        "--snapshot-retention-hours", str(cdc.snapshot_retention_hours),
        "--maintenance-interval-min", str(cdc.maintenance_interval_min),
        "--starting-offsets", "earliest",
    )  # fmt: skip


# the driver's memory beside its heap, bounded: a serial collector (no G1 remembered sets), code and
# class caches sized for one app, and two malloc arenas for the JVM's native allocations (Kafka's and
# Parquet's compressors); the app under a bulk load measured 1.19 GiB PSS without these
DRIVER_JVM_FLAGS = (
    "-XX:+UseSerialGC",
    "-XX:ReservedCodeCacheSize=96m",
    "-XX:MaxMetaspaceSize=256m",
    "-XX:MaxDirectMemorySize=256m",
)


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    beat = heartbeat_file(ctx.paths)
    argv = (
        str(ctx.python_bin.parent / "spark-submit"),
        "--name", "cdc",
        "--conf", "spark.ui.enabled=false",  # the heartbeat is the probe: no port to hand out
        "--conf", f"spark.driver.memory={s.heaps.cdc_driver}m",
        "--conf", f"spark.driver.extraJavaOptions={' '.join(DRIVER_JVM_FLAGS)}",
        # micro-batches of a few hundred changes: two shuffle tasks (one per core), not the default 8
        "--conf", "spark.sql.shuffle.partitions=2",
        str(APP),
        *app_args(ctx),
        "--heartbeat", str(beat),
    )  # fmt: skip
    depends = {
        "kafka": Condition.HEALTHY,
        "kafka-topics": Condition.COMPLETED,
        "metastore": Condition.HEALTHY,
        "hdfs-init": Condition.COMPLETED,
        CONNECT_SETUP: Condition.COMPLETED,  # the connector is registered (its topics appear)
    }
    return [
        ServiceSpec(
            name="cdc",
            argv=argv,
            probe=heartbeat_probe(beat),
            env={**submit_env(ctx), "MALLOC_ARENA_MAX": "2"},
            cwd=ctx.paths.data / "cdc",
            depends_on={name: cond for name, cond in depends.items() if _native(s, name)},
            setup=(spark_conf_dir,),
            stop_timeout_s=30,
            start_timeout_s=300.0,
            hint=f"see {ctx.log_file('cdc')} and {beat}; `dataplat status` shows the connector and the lag",
            url=f"{s.lake.root}/_checkpoints/cdc",
        ),
    ]


def _native(s: Settings, name: str) -> bool:
    """As the streaming app; ``connect-setup`` always (it applies the connector to the native worker or
    to ``external.connect_url``)."""
    return name == CONNECT_SETUP or native_dependency(s, name)
