"""The one builder of JVM command lines (HDFS, Kafka, the metastore, Trino).

``java -Xmx.. [-Xms..] <flags> -Dkey=value... -cp <classpath> <main> <args>``: a pure function of its
arguments, so each service's exact argv is asserted in unit tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dataplat.spec import Context


def java_command(
    ctx: Context,
    *,
    main: str,
    heap_mb: int,
    classpath: Iterable[str | Path],
    initial_heap_mb: int | None = None,
    system_properties: Mapping[str, str | Path] | None = None,
    jvm_flags: Iterable[str] = (),
    args: Iterable[str] = (),
    modern: bool = False,
) -> tuple[str, ...]:
    """The argv of ``main`` on Java 17 (or the modern JDK): heap, flags, ``-D`` properties, classpath.

    ``initial_heap_mb`` None leaves ``-Xms`` to the JVM; ``classpath`` entries are joined with ``:``.
    """
    heap = (f"-Xmx{heap_mb}m", *((f"-Xms{initial_heap_mb}m",) if initial_heap_mb is not None else ()))
    properties = (f"-D{key}={value}" for key, value in (system_properties or {}).items())
    return (
        ctx.java(modern=modern),
        *heap,
        *jvm_flags,
        *properties,
        "-cp",
        os.pathsep.join(str(entry) for entry in classpath),
        main,
        *args,
    )
