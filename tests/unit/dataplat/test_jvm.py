"""The one JVM command-line builder: order of heap, flags, properties, classpath, main and args."""

from __future__ import annotations

import sys
from pathlib import Path

from dataplat.jvm import java_command
from dataplat.paths import Paths
from dataplat.settings import Settings
from dataplat.spec import Context


def context(tmp_path: Path) -> Context:
    s = Settings(home=tmp_path)
    return Context(s, Paths(tmp_path, tmp_path), Path("/j17"), Path("/j25"), Path(sys.executable), None)


def test_full_command(tmp_path: Path) -> None:
    argv = java_command(
        context(tmp_path),
        main="org.example.Main",
        heap_mb=512,
        initial_heap_mb=128,
        jvm_flags=("-XX:+UseSerialGC", "--add-opens=java.base/java.lang=ALL-UNNAMED"),
        system_properties={"a.b": "c", "log.file": Path("/logs/x.log")},
        classpath=(Path("/conf"), "/lib/*"),
        args=("-p", "1"),
    )
    assert argv == (
        "/j17/bin/java", "-Xmx512m", "-Xms128m",
        "-XX:+UseSerialGC", "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-Da.b=c", "-Dlog.file=/logs/x.log",
        "-cp", "/conf:/lib/*",
        "org.example.Main", "-p", "1",
    )  # fmt: skip


def test_minimal_command_on_the_modern_jdk(tmp_path: Path) -> None:
    argv = java_command(context(tmp_path), main="M", heap_mb=64, classpath=["/lib/*"], modern=True)
    assert argv == ("/j25/bin/java", "-Xmx64m", "-cp", "/lib/*", "M")
