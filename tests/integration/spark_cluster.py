"""A Spark standalone master + worker from pyspark's own ``bin/spark-class``, for tests.

Both run as separate processes (mirakuru starts them and waits for their web UIs); the platform
reaches them only through configuration (``external.spark_master``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mirakuru import HTTPExecutor

from dataplat.ports import free_port
from dataplat.spec import Context


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str  # spark://host:port
    ui_url: str  # the master's web UI (its /json/ lists workers and applications)

    def state(self) -> dict[str, Any]:
        return httpx.get(f"{self.ui_url}/json/", timeout=10).raise_for_status().json()

    def app_names(self) -> set[str]:
        state = self.state()
        return {app["name"] for key in ("activeapps", "completedapps") for app in state.get(key, [])}


def _executor(ctx: Context, main_class: str, args: list[str], ui_port: int, log: Path) -> HTTPExecutor:
    assert ctx.spark_home is not None, "pyspark is not installed"
    command = [str(ctx.spark_home / "bin" / "spark-class"), main_class, *args]
    env = {
        "JAVA_HOME": str(ctx.java17),
        "SPARK_HOME": str(ctx.spark_home),
        "SPARK_LOCAL_IP": ctx.settings.bind_host,
        "SPARK_LOG_DIR": str(log.parent),
        "PATH": "/usr/bin:/bin",
    }
    return HTTPExecutor(
        command,
        url=f"http://{ctx.settings.bind_host}:{ui_port}/json/",
        timeout=120,
        envvars=env,
        expected_returncode=143,  # the JVM's answer to the SIGTERM that stops it
        stdout=log.open("ab"),
        stderr=log.open("ab"),
    )


@contextmanager
def standalone_cluster(
    ctx: Context, work_dir: Path, *, cores: int = 2, memory: str = "3g"
) -> Iterator[StandaloneCluster]:
    """Start a master and one worker on the bind host; stop both on exit."""
    host = ctx.settings.bind_host
    port, ui_port, worker_ui = free_port(host), free_port(host), free_port(host)
    master_url = f"spark://{host}:{port}"
    master = _executor(
        ctx,
        "org.apache.spark.deploy.master.Master",
        ["--host", host, "--port", str(port), "--webui-port", str(ui_port)],
        ui_port,
        work_dir / "master.log",
    )
    worker = _executor(
        ctx,
        "org.apache.spark.deploy.worker.Worker",
        [
            master_url,
            "--host",
            host,
            "--webui-port",
            str(worker_ui),
            "--cores",
            str(cores),
            "--memory",
            memory,
            "--work-dir",
            str(work_dir / "work"),
        ],
        worker_ui,
        work_dir / "worker.log",
    )
    cluster = StandaloneCluster(master_url, f"http://{host}:{ui_port}")
    with master, worker:
        deadline = time.monotonic() + 60
        while not any(w["state"] == "ALIVE" for w in cluster.state().get("workers", [])):
            assert time.monotonic() < deadline, f"no worker registered with {master_url}"
            time.sleep(1)
        yield cluster
