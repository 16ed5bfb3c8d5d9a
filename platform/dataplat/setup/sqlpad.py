"""``sqlpad-setup``: the admin's password, the Trino connections and the starter queries.

Runs once SQLPad and Trino are healthy (``python -m dataplat.setup.sqlpad``). SQLPad 3.1.0 cannot
take the admin's password from its environment (see :mod:`dataplat.services.sqlpad`), so the first
run completes the whitelisted admin's sign-up with the generated ``SQLPAD_ADMIN_PASSWORD``.
Connections and queries are matched by name: a rerun updates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from dataplat.errors import DataplatError
from dataplat.services.sqlpad import ADMIN_EMAIL, PASSWORD_SECRET, base_url, setup_stamp
from dataplat.settings import Settings
from dataplat.setup import oneshot
from dataplat.setup.rest import checked, upsert


@dataclass(frozen=True)
class SavedQuery:
    name: str
    connection: str
    sql: str
    tags: tuple[str, ...] = ()


def connections(s: Settings) -> list[dict[str, str]]:
    """SQLPad connections (its ``presto`` driver, which Trino accepts with the Presto headers)."""
    trino = urlsplit(s.trino_url)
    common = {"driver": "presto", "host": trino.hostname or s.host, "port": str(trino.port or 8080)}
    return [
        {"name": "Trino lake (hive)", "username": "sqlpad", "prestoCatalog": "hive", **common},
        {"name": "Trino live clicks (kafka)", "username": "sqlpad", "prestoCatalog": "kafka",
         "prestoSchema": "default", **common},
    ]  # fmt: skip


def saved_queries(s: Settings) -> list[SavedQuery]:
    lake, live = (c["name"] for c in connections(s))
    topic = s.lake.click_topic
    return [
        SavedQuery("insights", lake, "SELECT *\nFROM hive.trusted.insights\nLIMIT 100", ("batch",)),
        SavedQuery(
            "grouped_insights", lake, "SELECT *\nFROM hive.trusted.grouped_insights\nLIMIT 100", ("batch",)
        ),
        SavedQuery(
            "clickstream counts",
            lake,
            "SELECT *\nFROM hive.clickstream.clickstream_counts\nLIMIT 100",
            ("streaming",),
        ),
        SavedQuery(
            "live clicks (kafka)",
            live,
            f'SELECT page, count(*) AS events, max(_timestamp) AS last_event\nFROM kafka.default."{topic}"\n'
            "GROUP BY page\nORDER BY events DESC",
            ("streaming",),
        ),
    ]


def sign_in(client: httpx.Client, password: str) -> None:
    """Sign in as the admin, completing its sign-up (setting the password) the first time."""
    credentials = {"email": ADMIN_EMAIL, "password": password}
    if client.post("/api/signin", json=credentials).status_code == httpx.codes.OK:
        return
    response = client.post("/api/signup", json={**credentials, "passwordConfirmation": password})
    if response.status_code != httpx.codes.OK:
        raise DataplatError(f"SQLPad refused the admin's sign-in and sign-up: {response.text[:200]}")


def _ids_by_name(client: httpx.Client, collection: str, key: str) -> dict[str, str]:
    return {item["name"]: item["_id"] for item in checked(client.get(collection))[key]}


def configure(client: httpx.Client, password: str, s: Settings) -> oneshot.Result:
    """Create or update the connections and saved queries by name (name -> id in the result)."""
    sign_in(client, password)
    ids: dict[str, str] = {}
    existing = _ids_by_name(client, "/api/connections", "connections")
    for connection in connections(s):
        name = connection["name"]
        ids[name] = upsert(client, "/api/connections", connection, existing.get(name), _connection_id)
    existing = _ids_by_name(client, "/api/queries", "queries")
    for query in saved_queries(s):
        body = {
            "name": query.name,
            "connectionId": ids[query.connection],
            "queryText": query.sql,
            "tags": list(query.tags),
        }
        ids[query.name] = upsert(client, "/api/queries", body, existing.get(query.name), _query_id)
    return oneshot.Result(made=ids)


def _connection_id(reply: Any) -> str:
    return str(reply["connection"]["_id"])


def _query_id(reply: Any) -> str:
    return str(reply["query"]["_id"])


STEP = oneshot.SetupStep(
    tool="sqlpad",
    password_secret=PASSWORD_SECRET,
    base_url=base_url,
    stamp=setup_stamp,
    configure=configure,
)

if __name__ == "__main__":
    oneshot.main(STEP)
