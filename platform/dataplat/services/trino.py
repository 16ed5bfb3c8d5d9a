"""Trino 476: one coordinator that is also its worker, with the ``hive``, ``iceberg`` and ``kafka`` catalogs.

Runs ``io.trino.server.TrinoServer`` directly on Java 24+ (no launcher): config from
``conf/trino``, catalogs rendered from the repository's ``catalog/trino/*.properties``.
Ready when ``/v1/info`` says it finished starting and ``SELECT 1`` runs.
"""

from __future__ import annotations

import httpx

from dataplat.jvm import java_command
from dataplat.probes import callable_probe
from dataplat.render import render_texts, template_names
from dataplat.services import postgres
from dataplat.spec import Condition, ConfigFile, Context, Probe, ServiceSpec

MAIN = "io.trino.server.TrinoServer"
TEMPLATES = ("config.properties", "log.properties")
# As Trino's recommended jvm.config (minus flags meant for large heaps) plus what its launcher adds.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:ReservedCodeCacheSize=256M",
    "-XX:PerMethodRecompilationCutoff=10000",
    "-XX:PerBytecodeRecompilationCutoff=10000",
    "-XX:+EnableDynamicAgentLoading",
    "-Djdk.attach.allowAttachSelf=true",
    "-Djdk.nio.maxCachedBufferSize=2000000",
    "-Dfile.encoding=UTF-8",
    "--add-modules=jdk.incubator.vector",
    "--enable-native-access=ALL-UNNAMED",  # JNA, Arrow: no warnings on Java 24+
    "--sun-misc-unsafe-memory-access=allow",
)


# reviewable files under catalog/ -> where they go below conf/trino (hosts, ports, paths rendered)
CATALOG_FILES = {("trino", ".properties"): "catalog", ("kafka", ".json"): "kafka"}


def catalog_configs(ctx: Context) -> tuple[ConfigFile, ...]:
    """``catalog/trino/*.properties`` and the Kafka table descriptions ``catalog/kafka/*.json``."""
    conf = ctx.paths.conf / "trino"
    return tuple(
        ConfigFile(name, conf / folder / name.rsplit("/", 1)[-1])
        for (kind, suffix), folder in CATALOG_FILES.items()
        for name in template_names(f"catalog/{kind}", suffix)
    )


def catalog_texts(ctx: Context) -> dict[str, str]:
    """The catalog files rendered for ``ctx``, by path relative to ``conf/trino`` (for compose)."""
    return render_texts(catalog_configs(ctx), ctx, ctx.paths.conf / "trino")


def trino_probe(url: str) -> Probe:
    """Ready when the coordinator finished starting and runs a query."""

    def check() -> str | None:
        info = httpx.get(f"{url}/v1/info", timeout=3.0).json()
        if info.get("starting", True):
            return "trino is starting"
        import trino

        with trino.dbapi.Connection(
            host=httpx.URL(url).host, port=httpx.URL(url).port, user="dataplat", request_timeout=10
        ) as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            rows = cursor.fetchall()
        return None if rows == [[1]] else f"SELECT 1 returned {rows}"

    return callable_probe(f"trino SELECT 1 at {url}", check)


def specs(ctx: Context) -> list[ServiceSpec]:
    s, paths = ctx.settings, ctx.paths
    conf, home = paths.conf / "trino", paths.dist / "trino"
    argv = java_command(
        ctx,
        main=MAIN,
        heap_mb=s.heaps.trino,
        initial_heap_mb=min(s.heaps.trino, 256),
        jvm_flags=JVM_FLAGS,
        system_properties={"config": conf / "config.properties", "log.levels-file": conf / "log.properties"},
        classpath=(home / "lib" / "*",),
        modern=True,
    )
    configs = (
        *(ConfigFile(f"trino/{name}", conf / name) for name in TEMPLATES),
        ConfigFile("metastore/core-site.xml", conf / "core-site.xml"),  # hive.config.resources
        *catalog_configs(ctx),
    )
    depends = {} if s.external.metastore_uri else {"metastore": Condition.HEALTHY}
    return [
        ServiceSpec(
            name="trino",
            argv=argv,
            probe=trino_probe(f"http://{s.bind_host}:{s.ports.trino}"),
            # catalog/trino/postgresql.properties: the operational database's owner, as ${ENV:...}
            env={"POSTGRES_CONDO_PASSWORD": postgres.password(paths, postgres.cdc_database(s))},
            cwd=paths.data / "trino",
            ports={"http": s.ports.trino},
            depends_on=depends,
            configs=configs,
            hint=f"see {ctx.log_file('trino')}; needs Java 24+ ({ctx.java_modern})",
            url=s.trino_url,
        ),
    ]
