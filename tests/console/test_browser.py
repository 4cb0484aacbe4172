"""The console in a real browser (Debian's Chromium through Playwright): log in, see the
dashboard's charts with data, create and activate a campaign through the prize editor, resolve a
fraud case, switch language. Any browser console error or request to another origin fails."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def live_server(app: Flask, committed: None) -> Iterator[str]:
    """The app served on an ephemeral loopback port, seeded with the demo and some scans."""
    from werkzeug.serving import make_server

    from tests.workers import run_workers

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    token = re.findall(r"Authorization: Bearer (\S+)", result.output)[0]
    for url in re.findall(r"(https?://\S+/01/\d{14}/21/[A-Z2-7]+)", result.output):
        body = {"code": url, "location": {"lat": 31.23, "lng": 121.47, "accuracy_m": 30}}
        client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {token}"})
    run_workers()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    """A tablet-sized page that records console errors and requests to other origins."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        tab = context.new_page()
        tab.problems = []
        tab.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
        tab.on("pageerror", lambda e: tab.problems.append(str(e)))
        tab.on("response", lambda r: r.status >= 400 and r.status not in (401, 403, 422)
               and tab.problems.append(f"{r.status} {r.url}"))  # fmt: skip
        tab.on("request", lambda r: r.url.startswith((live_server, "data:", "blob:"))
               or tab.problems.append(f"request to another origin: {r.url}"))  # fmt: skip
        tab.base = live_server
        yield tab
        browser.close()
    assert tab.problems == []


def _charts_drawn(page: Any, selector: str) -> None:
    page.wait_for_selector(f"{selector} canvas", timeout=15000)


def test_console_end_to_end(page: Any) -> None:
    from engagement.demo import DEMO_EMAIL, DEMO_PASSWORD

    page.goto(page.base + "/console/")
    page.fill("#f-email", DEMO_EMAIL)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    for chart in ("#chart-days", "#chart-map", "#chart-products", "#chart-spend", "#chart-payouts"):
        _charts_drawn(page, chart)
    assert int(page.inner_text("#tile-scans")) >= 3
    assert int(page.inner_text("#tile-cases")) >= 1  # the demo's harvester (and diversion) cases
    page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)

    page.goto(page.base + "/console/#/campaigns/new")
    page.wait_for_selector("#f-name")
    page.fill("#f-name", "Browser campaign")
    page.fill("#f-budget_fen", "50000")
    page.fill("#f-starts_at", "2026-01-01T00:00")
    page.fill("#f-ends_at", "2027-12-31T00:00")
    page.click("text=添加奖项")
    rows = page.locator(".prize-row")
    rows.nth(0).locator("input.probability").fill("20")
    rows.nth(1).locator("select").select_option("range")
    rows.nth(1).locator("input.min").fill("30")
    rows.nth(1).locator("input.max").fill("100")
    rows.nth(1).locator("input.probability").fill("50")
    rows.nth(1).locator("input.quantity").fill("1000")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#run-simulation")
    page.click("#run-simulation")
    _charts_drawn(page, "#chart-simulation")
    page.screenshot(path=str(ARTIFACTS / "console-campaign.png"), full_page=True)
    page.click("button[data-action=activate]")
    page.locator("#campaign-status", has_text="进行中").wait_for()

    page.goto(page.base + "/console/#/fraud")
    page.click("table a")
    page.wait_for_selector("#resolve-form")
    _charts_drawn(page, "#chart-case-map")
    page.select_option("#f-decision", "release")
    page.fill("#f-note", "Known wholesale buyer")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_selector("#case-decision")
    page.screenshot(path=str(ARTIFACTS / "console-fraud.png"), full_page=True)

    page.goto(page.base + "/console/#/segments")
    page.wait_for_selector("#segment-form")
    page.fill("#segment-form #f-name", "Shanghai shoppers")
    page.locator(".conditions select").nth(0).select_option("province")
    page.locator(".conditions select").nth(1).select_option("eq")
    page.locator(".conditions input").nth(0).fill("上海市")
    page.click("#segment-form button[type=submit]")
    page.wait_for_selector("#segment-size")
    _charts_drawn(page, "#chart-breakdown-province")
    page.screenshot(path=str(ARTIFACTS / "console-segment.png"), full_page=True)

    page.click("#lang-switch")
    page.locator("#nav a", has_text="Dashboard").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"


def test_an_analyst_is_offered_nothing_that_would_be_refused(page: Any, app: Flask) -> None:
    from accounts import service
    from accounts.models import Brand, Role
    from core.db import db
    from engagement.demo import DEMO_SLUG

    brand = db.session.query(Brand).filter_by(slug=DEMO_SLUG).one()
    service.create_staff(brand, "analyst@demo.example", "analyst-password", Role.analyst)
    db.commit()
    requests: list[str] = []
    page.on("response", lambda r: r.status in (401, 403) and requests.append(f"{r.status} {r.url}"))
    page.goto(page.base + "/console/")
    page.fill("#f-email", "analyst@demo.example")
    page.fill("#f-password", "analyst-password")
    page.click("button[type=submit]")
    _charts_drawn(page, "#chart-days")
    for route in ("#/campaigns/new", "#/codes", "#/fraud"):
        page.goto(page.base + "/console/" + route)
        page.wait_for_timeout(300)
        assert page.locator("form.card button[type=submit]:visible").count() == 0, route
    page.goto(page.base + "/console/#/fraud")
    page.click("table a")
    page.wait_for_selector("#chart-case-map canvas")
    assert page.locator("#resolve-form").count() == 0
    assert requests == []
