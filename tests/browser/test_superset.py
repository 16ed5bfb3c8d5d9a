"""Superset in a real browser: sign in, open the clickstream dashboard, every chart shows data."""

from __future__ import annotations

import json
import time
import uuid

import httpx
from playwright.sync_api import Page, expect

from dataplat.paths import paths_for
from dataplat.runtime import Stack
from dataplat.secrets import get_secret
from dataplat.services import superset
from dataplat.settings import Settings
from dataplat.setup import superset as superset_setup
from tests.browser.conftest import shot

NO_DATA = "No results were returned for this query"


def produce_live_clicks(settings: Settings, events: int = 20) -> None:
    """A few clicks of this run's own user, so the live chart's last hour is not empty."""
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = settings.lake.click_topic
    registry = SchemaRegistryClient({"url": settings.registry_url})
    schema = registry.get_latest_version(f"{topic}-value").schema.schema_str
    serialize = AvroSerializer(
        registry, schema, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    producer = Producer(settings.kafka_client_config(acks="all"))
    user = f"browser-{uuid.uuid4().hex[:8]}"
    for i in range(events):
        click = {
            "username": user,
            "page": "/browser-test",
            "event_name": "click",
            "event_time": int(time.time() * 1000) + i,
        }
        producer.produce(topic, serialize(click, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(15) == 0


def expected_charts(settings: Settings) -> list[str]:
    """The charts on the dashboard (those whose tables exist), from Superset's API."""
    password = get_secret(paths_for(settings).secrets_file, superset.PASSWORD_SECRET)
    with httpx.Client(base_url=superset.base_url(settings), timeout=60.0) as client:
        login = {"username": superset.ADMIN_USER, "password": password, "provider": "db", "refresh": False}
        token = client.post("/api/v1/security/login", json=login).json()["access_token"]
        response = client.get(
            f"/api/v1/dashboard/{superset_setup.DASHBOARD_SLUG}/charts",
            headers={"Authorization": f"Bearer {token}"},
        )
        return [chart["slice_name"] for chart in response.json()["result"]]


def test_dashboard_charts_show_data(sql_tools: Stack, settings: Settings, page: Page) -> None:
    produce_live_clicks(settings)
    charts = expected_charts(settings)
    assert {chart.name for chart in superset_setup.CHARTS} == set(charts), (
        "a chart is missing (table not built yet?)"
    )
    password = get_secret(paths_for(settings).secrets_file, superset.PASSWORD_SECRET)
    page.goto(f"{superset.base_url(settings)}/login/")
    page.locator("#username").fill(superset.ADMIN_USER)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{superset.base_url(settings)}/superset/dashboard/{superset_setup.DASHBOARD_SLUG}/")
    holders = page.locator("[data-test='dashboard-component-chart-holder']")
    expect(holders).to_have_count(len(charts))
    for index, name in enumerate(charts):
        holder = holders.nth(index)
        expect(holder).to_contain_text(name)
        # echarts draws on a canvas once the query returned rows; empty or failed charts say so
        expect(holder.locator("canvas")).to_have_count(1, timeout=120_000)
        expect(holder).not_to_contain_text(NO_DATA)
        expect(holder.get_by_role("alert")).to_have_count(0)
    shot(page, "superset-dashboard")
    print(json.dumps({"charts": charts}))
