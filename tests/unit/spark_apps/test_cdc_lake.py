"""The lake's statements as text: the trusted MERGE's semantics, the DDL (pure, no Spark)."""

from __future__ import annotations

from spark_apps.cdc.changes import Target, supersedes
from spark_apps.cdc.lake import (
    Layout,
    TrustedState,
    drop_ddl,
    evolve_ddl,
    merge_trusted_sql,
    newer,
    setup_ddl,
)

LAYOUT = Layout("iceberg", "raw", "trusted", "condo", "cdc_dead_letters")


def test_a_change_supersedes_a_snapshot_read_else_the_larger_lsn_wins() -> None:
    assert newer("s._phase", "s._lsn") == "((s._phase = 1 AND t._op = 'r') OR s._lsn > t._lsn)"
    assert supersedes((1, 90), (0, 100)) and supersedes((0, 300), (1, 150)) and supersedes((1, 5), (1, 4))
    assert not supersedes((1, 4), (1, 4)) and not supersedes((0, 100), (1, 150))


def test_the_trusted_merge_deletes_updates_and_inserts_only_forward() -> None:
    target = Target((("id", "bigint"), ("name", "string"), ("notes", "string")), ("id",), ("notes",))
    sql = merge_trusted_sql("iceberg.trusted.condo_x", "v", target)
    moves = newer("s._phase", "s._lsn")
    keep = f"s._vl2 IS NOT NULL AND {newer('s._vp2', 's._vl2')}"
    assert sql == (
        "MERGE INTO iceberg.trusted.condo_x t USING v s ON t.`id` = s.`id` "
        f"WHEN MATCHED AND s._op = 'd' AND {moves} THEN DELETE "
        f"WHEN MATCHED AND {moves} THEN UPDATE SET `name` = s.`name`, "
        f"`notes` = CASE WHEN {keep} THEN s.`notes` ELSE t.`notes` END, "
        "_lsn = s._lsn, _source_ts = s._source_ts, _op = s._op "
        "WHEN NOT MATCHED AND s._op <> 'd' THEN INSERT (`id`, `name`, `notes`, _lsn, _source_ts, _op) "
        "VALUES (s.`id`, s.`name`, s.`notes`, s._lsn, s._source_ts, s._op)"
    )


def test_ddl_names_and_partitions() -> None:
    ddl = setup_ddl(LAYOUT, ["residents"])
    assert ddl[:2] == [
        "CREATE NAMESPACE IF NOT EXISTS iceberg.raw",
        "CREATE NAMESPACE IF NOT EXISTS iceberg.trusted",
    ]
    assert ddl[2].startswith(
        "CREATE TABLE IF NOT EXISTS iceberg.raw.condo_residents_changes (op string, lsn bigint"
    )
    assert "PARTITIONED BY (days(source_ts))" in ddl[2] and "'format-version' = '2'" in ddl[2]
    assert ddl[3].startswith("CREATE TABLE IF NOT EXISTS iceberg.raw.cdc_dead_letters (kafka_topic string")
    state = TrustedState({"id": "bigint", "nick": "string"}, ("id",), 42, (1, 900))
    assert (
        drop_ddl("t", ["old", "x"]) == "ALTER TABLE t DROP COLUMNS (`old`, `x`)" and drop_ddl("t", []) is None
    )
    assert evolve_ddl("t", [("nick", "string")], [("n", "bigint")], state) == [
        "ALTER TABLE t ADD COLUMNS (`nick` string)",
        "ALTER TABLE t ALTER COLUMN `n` TYPE bigint",
        "ALTER TABLE t SET TBLPROPERTIES ('cdc.schema-id' = '42', 'cdc.schema-position' = '1:900', "
        "'cdc.primary-key' = 'id')",
    ]
