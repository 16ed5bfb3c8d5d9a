"""The metastore specs: the exact JVM command lines, ports, dependencies, probe and configs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dataplat.render import render_text
from dataplat.secrets import get_secret
from dataplat.services import metastore, postgres
from dataplat.spec import Condition, Context, Kind, ServiceSpec

from .conftest import JAVA17, SPARK_HOME, MakeContext, by_name


def specs(ctx: Context) -> dict[str, ServiceSpec]:
    return by_name(metastore.specs(ctx))


def hive_site(ctx: Context) -> dict[str, str]:
    """``hive-site.xml`` as the runtime writes it, as {name: value}."""
    text = metastore.write_hive_site(ctx).read_text()
    root = ET.fromstring(text)
    return {prop.findtext("name", ""): prop.findtext("value", "") for prop in root.iter("property")}


def classpath(ctx: Context) -> str:
    conf, dist = ctx.paths.conf / "metastore", ctx.paths.dist / "metastore"
    return f"{conf}:{dist}/dataplat-metastore.jar:{dist}/lib/*:{SPARK_HOME}/jars/*"


def jvm_prefix(ctx: Context, heap: str, initial: str) -> tuple[str, ...]:
    conf = ctx.paths.conf / "metastore"
    return (
        f"{JAVA17}/bin/java", heap, initial, "-XX:+UseSerialGC",
        "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
        f"-Dlog4j2.configurationFile={conf}/log4j2.properties",
        "-Djava.net.preferIPv4Stack=true",
        "-cp", classpath(ctx),
    )  # fmt: skip


def test_jvm_command_line(ctx: Context) -> None:
    spec = specs(ctx)["metastore"]
    assert spec.argv == (
        *jvm_prefix(ctx, "-Xmx512m", "-Xms128m"),
        "dev.dataplat.metastore.BoundMetaStore", "-p", "9083",
        "--hiveconf", "hive.metastore.thrift.bind.host=127.0.0.1",
    )  # fmt: skip


def test_schema_step_runs_hives_schema_tool_once(ctx: Context) -> None:
    spec = specs(ctx)["metastore-schema"]
    marker = ctx.paths.data / "metastore" / "schema-2.3.0"
    assert spec.kind is Kind.ONESHOT and spec.probe is None
    assert spec.argv == (
        *jvm_prefix(ctx, "-Xmx256m", "-Xms128m"),
        "dev.dataplat.metastore.MetastoreSchema",
        f"{ctx.paths.dist}/metastore/hive-home", str(marker),
    )  # fmt: skip
    assert spec.creates == marker  # skipped once the schema is there (the step is idempotent anyway)
    assert spec.depends_on == {"postgres-setup": Condition.COMPLETED}  # the role and database exist


def test_no_password_in_any_argv_or_env(ctx: Context) -> None:
    secret = get_secret(ctx.paths.secrets_file, postgres.METASTORE.password_secret)
    for spec in metastore.specs(ctx):
        assert not any(secret in arg for arg in spec.argv), spec.name
        assert secret not in "".join(spec.env.values()), spec.name


def test_binds_the_configured_host(make_context: MakeContext) -> None:
    """Hive 2.3's HiveMetaStore listens on 0.0.0.0; the launcher listens on ``bind_host`` only."""
    spec = specs(make_context(bind_host="10.1.2.3", ports={"metastore": 19083}))["metastore"]
    assert spec.argv[spec.argv.index("-cp") + 2 :] == (
        "dev.dataplat.metastore.BoundMetaStore", "-p", "19083",
        "--hiveconf", "hive.metastore.thrift.bind.host=10.1.2.3",
    )  # fmt: skip
    assert "org.apache.hadoop.hive.metastore.HiveMetaStore" not in spec.argv
    assert spec.url == "thrift://10.1.2.3:19083"


def test_port_dependencies_and_probe(ctx: Context) -> None:
    spec = specs(ctx)["metastore"]
    assert spec.name == "metastore" and spec.kind is Kind.DAEMON and spec.probe is not None
    assert spec.ports == {"thrift": 9083}
    assert spec.depends_on == {"metastore-schema": Condition.COMPLETED, "hdfs-init": Condition.COMPLETED}
    assert spec.url == "thrift://127.0.0.1:9083"


def test_external_hdfs_needs_no_hdfs_init(make_context: MakeContext) -> None:
    spec = specs(make_context(external={"hdfs_uri": "hdfs://nn.example:8020"}))["metastore"]
    assert spec.depends_on == {"metastore-schema": Condition.COMPLETED}


def test_external_postgres_without_admin_waits_on_nothing(make_context: MakeContext) -> None:
    """The role and database must exist there already: nothing here creates them."""
    ctx = make_context(external={"postgres_host": "db.example", "postgres_port": 6543})
    assert specs(ctx)["metastore-schema"].depends_on == {}
    assert hive_site(ctx)["javax.jdo.option.ConnectionURL"] == "jdbc:postgresql://db.example:6543/metastore"


def test_needs_pyspark(make_context: MakeContext) -> None:
    with pytest.raises(ModuleNotFoundError, match="pyspark"):
        metastore.specs(make_context(spark_home=None))


def test_configs_point_at_the_lake(ctx: Context) -> None:
    spec = specs(ctx)["metastore"]
    texts = {config.target.name: render_text(config.template, ctx) for config in spec.configs}
    assert set(texts) == {"core-site.xml", "log4j2.properties"}
    assert "hdfs://127.0.0.1:8020" in texts["core-site.xml"]
    assert hive_site(ctx)["hive.metastore.warehouse.dir"] == "hdfs://127.0.0.1:8020/lake/warehouse"


def test_hive_site_is_written_by_both_steps(ctx: Context) -> None:
    named = specs(ctx)
    assert named["metastore"].setup == named["metastore-schema"].setup == (metastore.write_hive_site,)
    assert named["metastore"].configs == named["metastore-schema"].configs


def test_hive_site_holds_the_catalog_database(ctx: Context) -> None:
    """The metastore's own database and role in PostgreSQL, the password from the secrets file."""
    site = hive_site(ctx)
    db = postgres.METASTORE
    assert site["javax.jdo.option.ConnectionURL"] == postgres.jdbc_url(ctx.settings, db)
    assert site["javax.jdo.option.ConnectionURL"] == "jdbc:postgresql://127.0.0.1:5432/metastore"
    assert site["javax.jdo.option.ConnectionDriverName"] == "org.postgresql.Driver"
    assert site["javax.jdo.option.ConnectionUserName"] == db.role == "metastore"
    assert site["javax.jdo.option.ConnectionPassword"] == get_secret(
        ctx.paths.secrets_file, db.password_secret
    )
    assert (ctx.paths.conf / "metastore" / "hive-site.xml").stat().st_mode & 0o777 == 0o600


def test_hive_site_lets_only_the_schema_tool_make_the_schema(ctx: Context) -> None:
    site = hive_site(ctx)
    assert site["datanucleus.schema.autoCreateAll"] == "false"
    assert site["hive.metastore.schema.verification"] == "true"
    assert "derby" not in "".join(site.values()).lower()


def test_hive_site_times_out_the_locks_of_dead_clients(ctx: Context) -> None:
    """Hive 2.3 times out locks only in its housekeeper, which needs the DB transaction manager."""
    site = hive_site(ctx)
    assert site["hive.txn.manager"] == "org.apache.hadoop.hive.ql.lockmgr.DbTxnManager"
    assert site["hive.support.concurrency"] == "true"
    assert site["hive.compactor.initiator.on"] == "true"


def test_hive_site_escapes_what_it_embeds(ctx: Context) -> None:
    """A password with XML's special characters still parses back to itself."""
    ctx.paths.secrets_file.parent.mkdir(parents=True, exist_ok=True)
    ctx.paths.secrets_file.write_text(f"{postgres.METASTORE.password_secret}=a<b&c\"d'e>\n")
    assert hive_site(ctx)["javax.jdo.option.ConnectionPassword"] == "a<b&c\"d'e>"


def test_without_a_database_the_template_keeps_derby(ctx: Context) -> None:
    """The compose stack renders the template without ``jdbc`` (its image runs embedded Derby)."""
    text = render_text("metastore/hive-site.xml", ctx)
    assert "jdbc:derby:" in text and "ConnectionPassword" not in text
