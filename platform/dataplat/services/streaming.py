"""The clickstream streaming app: ``spark-submit spark_apps/clickstream/app.py`` as a daemon.

Ready when the app's StreamingQueryListener refreshed its heartbeat file within the last 30 s
(it does on every micro-batch and every idle progress event, ~10 s apart).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from dataplat.probes import callable_probe
from dataplat.settings import REPO_ROOT, Settings
from dataplat.spark_conf import spark_conf_dir, spark_env
from dataplat.spec import Condition, Context, Probe, ServiceSpec

APP = REPO_ROOT / "spark_apps" / "clickstream" / "app.py"
FRESH_S = 30.0


def heartbeat_file(ctx: Context) -> Path:
    return ctx.paths.run / "streaming.heartbeat.json"


def heartbeat_probe(path: Path, fresh_s: float = FRESH_S) -> Probe:
    """Ready when the listener wrote a progress/idle heartbeat less than ``fresh_s`` ago."""

    def check() -> str | None:
        if not path.exists():
            return f"no heartbeat yet at {path} (query not started)"
        beat = json.loads(path.read_text())
        if beat.get("state") == "terminated":
            return "the streaming query terminated"
        age = time.time() - float(beat["ts"])
        return None if age < fresh_s else f"heartbeat is {age:.0f}s old (state {beat.get('state')})"

    return callable_probe(f"clickstream heartbeat {path.name}", check)


def submit_env(ctx: Context) -> dict[str, str]:
    """spark_env plus the venv first on PATH (spark-submit, python3) and unbuffered output."""
    path = f"{ctx.python_bin.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    return {**spark_env(ctx), "PATH": path, "PYSPARK_PYTHON": str(ctx.python_bin), "PYTHONUNBUFFERED": "1"}


def lake_args(settings: Settings) -> tuple[str, ...]:
    """Where the clickstream tables live: the options both clickstream jobs take."""
    return ("--hdfs-uri", settings.hdfs_uri, "--lake-root", settings.lake.root)


def app_args(ctx: Context) -> tuple[str, ...]:
    """The clickstream app's options (endpoints, checkpoint, topic) rendered from the settings."""
    s = ctx.settings
    kafka = s.kafka_client.properties.items()
    return (
        "--bootstrap-servers", s.kafka_bootstrap,
        *(arg for key, value in kafka for arg in ("--kafka-property", f"{key}={value}")),
        "--registry-url", s.registry_url,
        "--trino-url", s.trino_url,
        *lake_args(s),
        "--checkpoint", f"{s.hdfs_uri}{s.lake.root}/_checkpoints/clickstream",
        "--topic", s.lake.click_topic,
    )  # fmt: skip


def specs(ctx: Context) -> list[ServiceSpec]:
    s = ctx.settings
    beat = heartbeat_file(ctx)
    argv = (
        str(ctx.python_bin.parent / "spark-submit"),
        "--name", "clickstream",
        "--conf", "spark.ui.enabled=false",  # the heartbeat is the probe: no port to hand out
        "--conf", f"spark.driver.memory={s.heaps.spark_driver}m",
        str(APP),
        *app_args(ctx),
        "--heartbeat", str(beat),
    )  # fmt: skip
    depends = {
        "kafka": Condition.HEALTHY,
        "kafka-topics": Condition.COMPLETED,  # Spark's Kafka source fails on a missing topic
        "registry": Condition.HEALTHY,
        "metastore": Condition.HEALTHY,
        "hdfs-init": Condition.COMPLETED,
        "trino": Condition.HEALTHY,  # the users' view is created through Trino
    }
    return [
        ServiceSpec(
            name="streaming",
            argv=argv,
            probe=heartbeat_probe(beat),
            env=submit_env(ctx),
            cwd=ctx.paths.data / "streaming",
            depends_on={name: cond for name, cond in depends.items() if native_dependency(s, name)},
            setup=(spark_conf_dir,),
            stop_timeout_s=30,
            start_timeout_s=300.0,
            hint=f"see {ctx.log_file('streaming')}; the schema subject {s.lake.click_topic}-value must exist",
            url=f"{s.lake.root}/_checkpoints/clickstream",
        ),
    ]


def native_dependency(s: Settings, name: str) -> bool:
    """Depend on a service only when the platform runs it (not pointed at an external one)."""
    external = s.external
    return {
        "kafka": external.kafka_bootstrap is None,
        "kafka-topics": True,  # creates the topics on whichever Kafka is configured
        "registry": external.registry_url is None,
        "metastore": external.metastore_uri is None,
        "hdfs-init": external.hdfs_uri is None,
        "trino": external.trino_url is None,
    }[name]
