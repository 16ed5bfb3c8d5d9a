"""``dataplat doctor``: check the machine and say what to do about each problem."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from dataplat.ports import port_free, port_owner
from dataplat.runtime import Stack

GIB = 1024**3
MIN_DISK_GIB = 10
MIN_AVAILABLE_MEMORY_GIB = 8


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def java_major(java_home: Path) -> int:
    out = subprocess.run(
        [str(java_home / "bin" / "java"), "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def _java_checks(stack: Stack) -> list[Check]:
    j17, modern = java_major(stack.ctx.java17), java_major(stack.ctx.java_modern)
    return [
        Check(
            "Java 17 (Hadoop, Kafka, Spark, metastore)",
            j17 == 17,
            f"{stack.ctx.java17} → {j17}",
            "install openjdk-17-jdk or set DATAPLAT_JAVA17_HOME",
        ),
        Check(
            "Java 24+ (Trino)",
            modern >= 24,
            f"{stack.ctx.java_modern} → {modern}",
            "install a Temurin JDK ≥ 24 or set DATAPLAT_JAVA_MODERN_HOME",
        ),
    ]


def _port_checks(stack: Stack) -> list[Check]:
    running = {name for name, info in stack.supervisor.all_info().items() if info.state == "RUNNING"}
    checks = []
    for spec in stack.specs.values():
        for port_name, port in spec.ports.items():
            if spec.name in running:
                checks.append(Check(f"port {port} ({spec.name} {port_name})", True, "ours, running"))
                continue
            free = port_free(stack.ctx.settings.bind_host, port)
            owner = "" if free else port_owner(port)
            checks.append(
                Check(
                    f"port {port} ({spec.name} {port_name})",
                    free,
                    "free" if free else owner,
                    f"stop {owner} or set DATAPLAT_PORTS__{port_name.upper()} in dataplat.toml",
                )
            )
    return checks


def _resource_checks(stack: Stack) -> list[Check]:
    stack.paths.home.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(stack.paths.home).free / GIB
    memory = psutil.virtual_memory().available / GIB
    tools = {tool: shutil.which(tool) for tool in ("mvn", "node", "npm")}
    return [
        Check(
            "disk free",
            disk >= MIN_DISK_GIB,
            f"{disk:.0f} GiB at {stack.paths.home}",
            f"free space or point DATAPLAT_HOME at a disk with ≥ {MIN_DISK_GIB} GiB",
        ),
        Check(
            "memory available",
            memory >= MIN_AVAILABLE_MEMORY_GIB,
            f"{memory:.1f} GiB",
            "the stack idles at ≤ 6 GiB; stop other programs or lower heaps in dataplat.toml",
        ),
        *(
            Check(f"{tool} on PATH", path is not None, path or "missing", f"install {tool}")
            for tool, path in tools.items()
        ),
        *_postgres_checks(stack),
    ]


def _postgres_checks(stack: Stack) -> list[Check]:
    """The native PostgreSQL's binaries (none needed with ``external.postgres_host``)."""
    from dataplat.services.postgres import PG_BIN, VERSION

    if "postgres" not in stack.specs:
        return []
    tools = ("initdb", "postgres", "pg_dump", "pg_restore")
    missing = [tool for tool in tools if not (PG_BIN / tool).exists()]
    return [
        Check(
            f"PostgreSQL {VERSION} ({', '.join(tools)})",
            not missing,
            f"missing in {PG_BIN}: {', '.join(missing)}" if missing else str(PG_BIN),
            f"install Debian's postgresql-{VERSION} (./dataplat does) or set external.postgres_host",
        )
    ]


def run_checks(stack: Stack, console: Console) -> bool:
    checks = [*_java_checks(stack), *_resource_checks(stack), *_port_checks(stack)]
    table = Table(title="dataplat doctor")
    for column in ("check", "ok", "detail", "what to do"):
        table.add_column(column)
    for check in checks:
        table.add_row(
            check.name,
            "[green]ok[/]" if check.ok else "[red]no[/]",
            check.detail,
            "" if check.ok else check.fix,
        )
    console.print(table)
    return all(check.ok for check in checks)
