"""The CDC app's per-batch work on a local SparkSession with an Iceberg ``hadoop`` catalog in a tmp dir.

Crafted Debezium JSON records (key and value as Kafka Connect's JsonConverter writes them) go through
:meth:`CdcBatch.process` exactly as a micro-batch does; the tests assert on the Iceberg tables.
Each scenario uses its own source table so the module needs one session and one warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dataplat.paths import paths_for
from dataplat.settings import get_settings
from dataplat.spark_conf import ICEBERG_RUNTIME, connector_jars
from spark_apps.cdc import envelope, lake
from spark_apps.cdc.batch import CdcBatch
from spark_apps.cdc.lake import Layout, setup_ddl
from spark_apps.cdc.maintenance import RETAIN_LAST, Maintenance
from spark_apps.cdc.schema import PLACEHOLDER, Field, convert

LAYOUT = Layout("iceberg", "raw", "trusted", "condo", "cdc_dead_letters")
TABLES = ("residents", "properties", "ledger", "units", "repairs", "upkept")
NUMERIC = {
    "__debezium.source.column.type": "NUMERIC",
    "__debezium.source.column.length": "8",
    "__debezium.source.column.scale": "2",
}
Column = tuple[str, str, str | None, dict[str, str] | None]  # name, Connect type, logical name, parameters
COLUMNS: list[Column] = [
    ("id", "int64", None, None),
    ("full_name", "string", None, None),
    ("moved_in", "int32", "io.debezium.time.Date", None),
    ("created_at", "string", "io.debezium.time.ZonedTimestamp", None),
    ("fee", "string", None, NUMERIC),
    ("notes", "string", None, None),
]
TS = 1_800_000_000_000  # source commit time, ms


def connect_field(column: Column) -> dict[str, Any]:
    name, kind, logical, params = column
    spec: dict[str, Any] = {"type": kind, "optional": name != "id", "field": name}
    if logical:
        spec["name"] = logical
    if params:
        spec["parameters"] = params
    return spec


def key_json(table: str, ident: int) -> str:
    schema = {
        "type": "struct",
        "name": f"condo.public.{table}.Key",
        "optional": False,
        "fields": [connect_field(COLUMNS[0])],
    }
    return json.dumps({"schema": schema, "payload": {"id": ident}})


def value_json(
    table: str,
    op: str,
    lsn: int | None,
    after: dict[str, Any] | None,
    columns: list[Column],
    snapshot: str | None = None,
) -> str:
    row = {
        "type": "struct",
        "optional": True,
        "name": f"condo.public.{table}.Value",
        "fields": [connect_field(c) for c in columns],
    }
    source = {
        "type": "struct",
        "field": "source",
        "optional": False,
        "fields": [{"type": "int64", "optional": True, "field": "lsn"}],
    }
    schema = {
        "type": "struct",
        "name": f"condo.public.{table}.Envelope",
        "optional": False,
        "fields": [
            {**row, "field": "before"},
            {**row, "field": "after"},
            source,
            {"type": "string", "optional": False, "field": "op"},
        ],
    }
    before = {"id": after["id"]} if op == "d" and after else None
    payload = {
        "before": before,
        "after": None if op == "d" else after,
        "op": op,
        "ts_ms": TS,
        "source": {
            "lsn": lsn,
            "txId": None if lsn is None else lsn // 10,
            "ts_ms": TS,
            "ts_us": TS * 1000,
            "snapshot": snapshot or ("true" if op == "r" else "false"),
            "table": table,
        },
    }
    return json.dumps({"schema": schema, "payload": payload})


def person(ident: int, name: str, fee: str = "1.50", notes: str | None = "n", **more: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "full_name": name,
        "moved_in": 19000,
        "created_at": "2027-01-02T03:04:05.123456Z",
        "fee": fee,
        "notes": notes,
        **more,
    }


Record = tuple[str, str | None, str | None]  # table, key, value


def change(table: str, op: str, lsn: int, row: dict[str, Any], columns: list[Column] = COLUMNS) -> Record:
    return table, key_json(table, row["id"]), value_json(table, op, lsn, row, columns)


def incremental_read(table: str, row: dict[str, Any]) -> Record:
    """An incremental snapshot's read as Debezium 3.6 sends it: snapshot "incremental", no LSN."""
    return table, key_json(table, row["id"]), value_json(table, "r", None, row, COLUMNS, "incremental")


class Feed:
    """Kafka batches of records: offsets go on increasing (a re-sent event gets a new offset)."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark, self.offsets = spark, count()

    def frame(self, records: list[Record], offsets: list[int] | None = None) -> DataFrame:
        at = offsets or [next(self.offsets) for _ in records]
        rows = [
            (f"condo.public.{table}", 0, offset, _bytes(key), _bytes(value))
            for (table, key, value), offset in zip(records, at, strict=True)
        ]
        return self.spark.createDataFrame(
            rows, "topic string, partition int, offset long, key binary, value binary"
        )


def _bytes(text: str | None) -> bytearray | None:
    return None if text is None else bytearray(text.encode())


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    jars = [str(jar) for jar in connector_jars(paths_for(get_settings()))]
    if not any(ICEBERG_RUNTIME in jar for jar in jars):
        pytest.skip("Iceberg's Spark runtime jar is not installed (dataplat install)")
    warehouse = tmp_path_factory.mktemp("iceberg")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("test-cdc")
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.iceberg", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.iceberg.type", "hadoop")
        .config("spark.sql.catalog.iceberg.warehouse", str(warehouse))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        for statement in setup_ddl(LAYOUT, TABLES):
            session.sql(statement)
    except Exception as error:  # noqa: BLE001 - a JVM started earlier without Iceberg's jar
        session.stop()
        pytest.skip(f"this JVM cannot load Iceberg ({type(error).__name__}); run the module on its own")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cdc(spark: SparkSession) -> CdcBatch:
    topics = {f"condo.public.{t}": t for t in (*TABLES, "dataplat_heartbeat")}
    return CdcBatch(LAYOUT, TABLES, topics)


@pytest.fixture(scope="module")
def feed(spark: SparkSession) -> Feed:
    return Feed(spark)


def trusted(spark: SparkSession, table: str) -> dict[int, Any]:
    return {row["id"]: row for row in spark.table(LAYOUT.trusted(table)).collect()}


def raw_events(spark: SparkSession, table: str) -> list[tuple[str, int, str]]:
    return sorted((r.op, r.lsn, r.key) for r in spark.table(LAYOUT.raw(table)).collect())


def dead_letters(spark: SparkSession, table: str) -> list[Any]:
    return spark.table(LAYOUT.dead_letters).where(f"table_name = '{table}'").orderBy("kafka_offset").collect()


def test_parse_reads_the_envelope_and_names_what_is_not_an_event(spark: SparkSession, feed: Feed) -> None:
    good = change("residents", "u", 7, person(1, "ann"))
    records: list[Record] = [
        good,
        ("residents", good[1], "not json"),
        ("residents", None, good[2]),
        ("residents", good[1], json.dumps({"op": "c"})),
        ("residents", good[1], None),
        (
            "residents",
            good[1],
            '{"schema":null,"payload":' + json.dumps(json.loads(good[2])["payload"]) + "}",
        ),
        ("residents", good[1], '{"schema":{"type":"struct"},"payload":{"op": "u", oops}'),
        ("residents", good[1], json.dumps({"payload": json.loads(good[2])["payload"]})),
    ]
    rows = envelope.parse(feed.frame(records), {"condo.public.residents": "residents"}).collect()
    first = rows[0]
    assert (first.table_name, first.op, first.lsn, first.phase, first.error) == ("residents", "u", 7, 1, None)
    assert json.loads(first.key) == {"id": 1} and json.loads(first.after)["full_name"] == "ann"
    assert first.source_ts == datetime(2027, 1, 15, 8, 0)
    assert [row.error for row in rows[1:]] == [
        "value is not JSON",
        envelope.NO_PRIMARY_KEY,
        "value has no payload: not a change event with its schema",
        "empty value (a tombstone?)",
        "value has no schema (JsonConverter schemas.enable=false?)",
        "value is not JSON",
        "value has no schema (JsonConverter schemas.enable=false?)",
    ]
    assert rows[1].bad_value == "not json" and first.bad_value is None
    assert json.loads(first.schema) == json.loads(good[2])["schema"]  # the inline schema's text, as sent


def test_snapshot_then_changes_land_once_and_in_order(spark: SparkSession, cdc: CdcBatch, feed: Feed) -> None:
    t = "residents"
    snapshot = [change(t, "r", 100, person(i, f"r{i}")) for i in (1, 2, 3, 4)]
    report = cdc.process(feed.frame(snapshot), 0)
    assert report.events == {t: 4} and report.schema_changes == [
        f"{t}: created with " + ", ".join(c[0] for c in COLUMNS)
    ]
    row = trusted(spark, t)[1]
    assert (row.full_name, row.moved_in, row.fee, row._op, row._lsn) == (
        "r1",
        date(2022, 1, 8),
        Decimal("1.50"),
        "r",
        100,
    )
    assert row.created_at == datetime(2027, 1, 2, 3, 4, 5, 123456)

    changes = [
        change(t, "u", 200, person(1, "ann")),
        change(t, "u", 210, person(1, "ann-2")),  # two changes of a key in one batch: the newest wins
        change(t, "d", 220, person(2, "gone")),
        change(t, "u", 90, person(3, "straddler")),  # WAL before the snapshot's LSN, committed after it
        change(t, "c", 230, person(5, "eve")),
        change(t, "d", 240, person(5, "eve")),  # created and deleted within the batch
    ]
    frame = feed.frame(changes)
    cdc.process(frame, 1)
    cdc.process(frame, 1)  # Spark runs the batch again after a crash: same records, same offsets
    cdc.process(feed.frame(changes[:3]), 2)  # Kafka Connect sends events again after a restart
    cdc.process(feed.frame([change(t, "u", 150, person(4, "stale"))]), 3)  # out of order: older than...
    rows = trusted(spark, t)
    assert {i: r.full_name for i, r in rows.items()} == {1: "ann-2", 3: "straddler", 4: "stale"}
    assert (rows[1]._lsn, rows[1]._op) == (210, "u")
    cdc.process(feed.frame([change(t, "u", 120, person(4, "older"))]), 4)  # ...a change already landed
    assert trusted(spark, t)[4].full_name == "stale"
    cdc.process(feed.frame([change(t, "r", 300, person(4, "read"))]), 5)  # an incremental snapshot repairs
    assert (trusted(spark, t)[4].full_name, trusted(spark, t)[4]._op) == ("read", "r")
    cdc.process(feed.frame([change(t, "u", 290, person(4, "late"))]), 6)  # committed after the chunk's read
    assert trusted(spark, t)[4].full_name == "late"
    landed = raw_events(spark, t)
    assert len(landed) == len(set(landed)) == 4 + 6 + 2 + 2
    assert ("d", 220, '{"id":2}') in landed


def test_a_replayed_insert_does_not_bring_back_a_deleted_row(
    spark: SparkSession, cdc: CdcBatch, feed: Feed
) -> None:
    t = "units"
    inserted, deleted = change(t, "c", 10, person(1, "a")), change(t, "d", 20, person(1, "a"))
    cdc.process(feed.frame([inserted, change(t, "c", 11, person(2, "b"))]), 10)
    cdc.process(feed.frame([deleted]), 11)
    cdc.process(feed.frame([inserted]), 12)  # Connect's replay split across batches: insert first...
    assert set(trusted(spark, t)) == {2}
    cdc.process(feed.frame([deleted]), 13)  # ...then the delete again
    assert set(trusted(spark, t)) == {2}
    assert len(raw_events(spark, t)) == 3


def test_a_column_the_metastore_will_not_drop_is_kept(
    spark: SparkSession, cdc: CdcBatch, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = "units"
    monkeypatch.setattr(
        lake, "drop_ddl", lambda table, drop: "ALTER TABLE iceberg.trusted.absent DROP COLUMNS (x)"
    )
    narrower = [c for c in COLUMNS if c[0] != "full_name"]
    row = {k: v for k, v in person(3, "-").items() if k != "full_name"}
    report = cdc.process(feed.frame([change(t, "c", 30, row, narrower)]), 14)
    assert report.schema_changes[0].startswith(f"{t}: added [], dropped [], widened []; kept ['full_name']: ")
    assert "full_name" in spark.table(LAYOUT.trusted(t)).columns and trusted(spark, t)[3].full_name is None
    report = cdc.process(feed.frame([change(t, "u", 31, {**row, "notes": "again"}, narrower)]), 15)
    assert report.schema_changes == [] and trusted(spark, t)[3].notes == "again"  # followed once


def test_toasted_values_keep_the_stored_one(spark: SparkSession, cdc: CdcBatch, feed: Feed) -> None:
    t = "ledger"
    long = "minutes " * 500
    cdc.process(
        feed.frame([change(t, "c", 10, person(1, "a", notes=long)), change(t, "c", 11, person(2, "b"))]), 20
    )
    cdc.process(feed.frame([change(t, "u", 20, person(1, "a2", notes=PLACEHOLDER))]), 21)
    row = trusted(spark, t)[1]
    assert (row.full_name, row.notes) == ("a2", long)
    # in one batch: a real value, then an update that leaves it out: the batch's value wins
    batch = [
        change(t, "u", 30, person(2, "b2", notes="fresh")),
        change(t, "u", 31, person(2, "b3", notes=PLACEHOLDER)),
    ]
    cdc.process(feed.frame(batch), 22)
    row = trusted(spark, t)[2]
    assert (row.full_name, row.notes, row._lsn) == ("b3", "fresh", 31)
    # a placeholder for a key the table lacks (its insert was never seen) lands as NULL
    cdc.process(feed.frame([change(t, "u", 40, person(3, "c", notes=PLACEHOLDER))]), 23)
    assert trusted(spark, t)[3].notes is None


def test_columns_follow_the_source_and_bad_values_go_to_the_dead_letters(
    spark: SparkSession, cdc: CdcBatch, feed: Feed
) -> None:
    t = "properties"
    cdc.process(feed.frame([change(t, "c", 10, person(1, "a")), change(t, "c", 11, person(2, "b"))]), 30)
    wider = [*COLUMNS, ("floor", "int32", None, None)]
    report = cdc.process(feed.frame([change(t, "u", 20, person(1, "a", floor=3), wider)]), 31)
    assert report.schema_changes == [f"{t}: added ['floor'], dropped [], widened []"]
    assert trusted(spark, t)[1].floor == 3 and trusted(spark, t)[2].floor is None

    narrower = [c for c in wider if c[0] != "notes"]
    no_notes = {k: v for k, v in person(2, "b2", floor=4).items() if k != "notes"}
    replay = change(t, "u", 15, person(1, "old"))  # an older event of the first schema, re-sent
    cdc.process(feed.frame([change(t, "u", 30, no_notes, narrower), replay]), 32)
    columns = spark.table(LAYOUT.trusted(t)).columns
    assert "notes" not in columns and "floor" in columns
    assert (trusted(spark, t)[2].floor, trusted(spark, t)[1].full_name) == (4, "a")

    retyped = [c if c[0] != "floor" else ("floor", "string", None, None) for c in narrower]
    records: list[Record] = [
        change(t, "u", 40, {**no_notes, "fee": "abc"}, narrower),  # does not cast: a dead letter
        ("properties", None, value_json(t, "c", 41, person(9, "x"), narrower)),  # no key: no primary key
        ("properties", key_json(t, 7), "{broken"),
        change(t, "u", 44, {**no_notes, "id": 1, "floor": "third"}, retyped),  # int column, text values
        change(t, "u", 43, {**no_notes, "id": 1, "full_name": "a-43"}, narrower),
    ]
    frame = feed.frame(records)
    report = cdc.process(frame, 33)
    assert report.dead_letters == 4 and report.schema_changes[0].startswith(f"{t}: not followed")
    reasons = [row.reason for row in dead_letters(spark, t)]
    assert reasons[0] == "column fee: 'abc' is not decimal(8,2)"
    assert reasons[1:3] == [envelope.NO_PRIMARY_KEY, "value is not JSON"]
    assert "floor" in reasons[3] and "int" in reasons[3]
    assert trusted(spark, t)[1].full_name == "a-43"  # the pipeline kept going
    cdc.process(frame, 33)
    assert len(dead_letters(spark, t)) == 4  # a batch run again adds nothing...
    cdc.process(feed.frame(records[:1]), 34)
    assert len(dead_letters(spark, t)) == 5  # ...a record sent again is a new dead letter


def test_values_convert_from_their_json_text(spark: SparkSession) -> None:
    time, at = "io.debezium.time.", datetime(2027, 1, 15, 8, 0, 0)
    cases: list[tuple[Field, str | None, Any]] = [
        (Field("a", "int64", time + "MicroTimestamp"), "1800000000123456", at.replace(microsecond=123456)),
        (Field("a", "int64", time + "Timestamp"), "1800000000123", at.replace(microsecond=123000)),
        (
            Field("a", "string", time + "ZonedTimestamp"),
            "2027-01-15T10:00:00.5+02:00",
            at.replace(microsecond=500000),
        ),
        (Field("t", "int64", time + "MicroTime"), "3723000001", "01:02:03.000001"),
        (Field("b", "bytes"), "AAEC", bytearray(b"\x00\x01\x02")),
        (Field("n", "int32"), "12", 12),
        (Field("ok", "boolean"), "true", True),
        (Field("n", "int32"), "twelve", None),
        (Field("a", "int64", time + "MicroTimestamp"), "9" * 18, None),  # beyond year 9999
        (Field("s", "string"), None, None),
    ]
    frame = spark.createDataFrame([(text,) for _, text, _ in cases], "text string")
    row = frame.select(*[convert(F.col("text"), f).alias(f"c{i}") for i, (f, _, _) in enumerate(cases)])
    got = [r[f"c{i}"] for i, r in enumerate(row.collect())]
    assert got == [expected for _, _, expected in cases]


def test_incremental_snapshot_reads_without_an_lsn_take_their_place(
    spark: SparkSession, cdc: CdcBatch, feed: Feed
) -> None:
    t = "repairs"
    cdc.process(feed.frame([change(t, "c", 10, person(1, "one")), change(t, "c", 11, person(2, "two"))]), 20)
    window = [
        change(t, "u", 20, person(1, "one-20")),
        incremental_read(t, person(1, "one-20")),  # the chunk: after every change streamed before it
        incremental_read(t, person(2, "two")),
        incremental_read(t, person(3, "three")),  # a row the lake never had
        change(t, "u", 15, person(2, "two-late")),  # its WAL before the window, committed after it
    ]
    frame = feed.frame(window)
    report = cdc.process(frame, 21)
    assert report.dead_letters == 0
    cdc.process(frame, 21)  # run again after a crash: nothing twice
    reads = sorted((r.lsn, r.key) for r in spark.table(LAYOUT.raw(t)).where("op = 'r'").collect())
    assert reads == [(20, '{"id":1}'), (20, '{"id":2}'), (20, '{"id":3}')]
    rows = trusted(spark, t)
    assert {i: r.full_name for i, r in rows.items()} == {1: "one-20", 2: "two-late", 3: "three"}
    cdc.process(feed.frame([change(t, "c", 40, person(5, "five"))]), 22)

    restarted = CdcBatch(LAYOUT, TABLES, {f"condo.public.{t}": t})  # no memory: the raw table tells
    restarted.process(feed.frame([incremental_read(t, person(1, "one-repaired"))]), 23)
    assert ("r", 40, '{"id":1}') in raw_events(spark, t)
    assert (trusted(spark, t)[1].full_name, trusted(spark, t)[1]._lsn) == ("one-repaired", 40)
    assert dead_letters(spark, t) == []


def test_upkeep_compacts_and_expires_without_changing_any_result(
    spark: SparkSession, cdc: CdcBatch, feed: Feed
) -> None:
    t = "upkept"
    for batch in range(8):  # a commit per micro-batch: small data files, position deletes, snapshots
        base = batch * 10
        changes = [change(t, "c", base + i, person(base + i, f"p{base + i}")) for i in range(1, 6)]
        changes += [change(t, "u", base + 8, person(base - 9, "moved"))] if batch else []
        changes += [change(t, "d", base + 9, person(base - 8, "gone"))] if batch else []
        cdc.process(feed.frame(changes), 30 + batch)
    tables = [LAYOUT.raw(t), LAYOUT.trusted(t)]

    def state() -> dict[str, Any]:
        return {
            name: (
                spark.table(name).orderBy(*spark.table(name).columns[:2]).collect(),
                spark.sql(f"SELECT count(*) FROM {name}.data_files").first()[0],
                spark.sql(f"SELECT count(*) FROM {name}.delete_files").first()[0],
                spark.sql(f"SELECT count(*) FROM {name}.snapshots").first()[0],
            )
            for name in tables
        }

    before = state()
    _, trusted_files, trusted_deletes, trusted_snapshots = before[LAYOUT.trusted(t)]
    assert trusted_deletes > 0 and trusted_files >= 8 and trusted_snapshots > RETAIN_LAST
    report = Maintenance("iceberg", interval_min=30, retention_hours=0).run(
        spark, tables, merge_on_read=[LAYOUT.trusted(t)]
    )
    assert report["failures"] == {}
    after = state()
    for name in tables:
        rows, files, _, snapshots = after[name]
        assert rows == before[name][0], f"{name}: upkeep changed a query result"
        assert files < before[name][1] and snapshots == RETAIN_LAST, (name, before[name][1:], after[name][1:])
    assert after[LAYOUT.trusted(t)][2] <= trusted_deletes
