"""SQLPad in a real browser: sign in, open a saved query, run it on Trino, see rows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dataplat.paths import paths_for
from dataplat.runtime import Stack
from dataplat.secrets import get_secret
from dataplat.services import sqlpad
from dataplat.settings import Settings
from tests.browser.conftest import shot

ROWS = re.compile(r"^(\d+) rows?$")


def sign_in(page: Page, settings: Settings) -> None:
    password = get_secret(paths_for(settings).secrets_file, sqlpad.PASSWORD_SECRET)
    page.goto(f"{sqlpad.base_url(settings)}/signin")
    page.get_by_placeholder("Email address").fill(sqlpad.ADMIN_EMAIL)
    page.get_by_placeholder("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/queries/**")


@pytest.mark.parametrize("query", ["grouped_insights", "clickstream counts"])
def test_saved_query_runs_and_shows_rows(
    sql_tools: Stack, settings: Settings, page: Page, query: str
) -> None:
    sign_in(page, settings)
    saved = page.request.get(f"{sqlpad.base_url(settings)}/api/queries").json()["queries"]
    query_id = next(q["_id"] for q in saved if q["name"] == query)
    page.goto(f"{sqlpad.base_url(settings)}/queries/{query_id}")
    # Run only once the saved query and its connection are loaded: clicked earlier, SQLPad sends
    # no connection id and its server fails with "Cannot read properties of null".
    expect(page.get_by_role("textbox", name="Query name")).to_have_value(query, timeout=60_000)
    expect(page.get_by_role("combobox")).to_have_value(re.compile(r".+"), timeout=60_000)
    expect(page.locator("option:checked")).to_have_text("Trino lake (hive)", timeout=60_000)
    page.get_by_role("button", name="Run").click()
    counter = page.get_by_text(ROWS)
    expect(counter).to_be_visible(timeout=120_000)
    shot(page, f"sqlpad-{query.replace(' ', '_')}")
    match = ROWS.match(counter.inner_text().strip())
    assert match is not None and int(match.group(1)) > 0, f"{query}: no rows"
