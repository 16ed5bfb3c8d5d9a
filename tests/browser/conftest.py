"""Browser tests: Debian's Chromium driven by Playwright (no browser is ever downloaded).

The stack's SQL tools are brought up (and left running); screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from dataplat.runtime import Stack
from dataplat.settings import REPO_ROOT, Settings

CHROMIUM = Path(os.environ.get("DATAPLAT_CHROMIUM", "/usr/bin/chromium"))  # Debian package `chromium`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"


BROWSER_DAY = "2026-11-06"  # a day of the batch DAG that the other tests do not write


@pytest.fixture(scope="session")
def batch_tables(stack: Stack, settings: Settings) -> None:
    """``trusted.insights``/``grouped_insights`` as users get them: one real run of the DAG."""
    from dataplat.load.bench.batch import run_dag

    result = run_dag(settings, BROWSER_DAY, {"count": 2000, "seed": 11})
    assert result.state == "success", f"the insights DAG did not succeed:\n{result.output[-3000:]}"


@pytest.fixture(scope="session")
def sql_tools(stack: Stack, batch_tables: None) -> Stack:
    """SQLPad and Superset with their setup done (re-run now that the pipelines' tables exist)."""
    stack.up(["sqlpad-setup", "superset-setup"])
    return stack


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (or set DATAPLAT_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context per test; its last screen is saved as ``test-artifacts/<test>-final.png``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}-final.png", full_page=True)
    context.close()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
