"""The console in a real browser (Debian's Chromium through Playwright): log in, see the
dashboard's charts with data, create and activate a campaign through the prize editor, resolve a
fraud case, switch language. Any browser console error or request to another origin fails."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.serving import served

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: How the browser logs the API's answers the console shows as messages (allowed below too).
EXPECTED_STATUS = re.compile(r"^Failed to load resource: .* status of (401|403|422)\b")


@pytest.fixture
def demo_output(app: Flask, committed: None) -> str:
    """What ``flask demo`` printed (its login, codes and story URLs)."""
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.fixture
def live_server(app: Flask, demo_output: str) -> Iterator[str]:
    """The app served on an ephemeral loopback port, seeded with the demo and some scans."""
    from werkzeug.serving import make_server

    from tests.workers import run_workers

    client = app.test_client()
    token = re.findall(r"Authorization: Bearer (\S+)", demo_output)[0]
    for url in re.findall(r"(https?://\S+/01/\d{14}/21/[A-Z2-7]+)", demo_output):
        body = {"code": url, "location": {"lat": 31.23, "lng": 121.47, "accuracy_m": 30}}
        client.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {token}"})
    run_workers()
    with served(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


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
        tab.on("console", lambda m: m.type == "error" and not EXPECTED_STATUS.search(m.text)
               and tab.problems.append(m.text))  # fmt: skip
        tab.on("pageerror", lambda e: tab.problems.append(f"{e} at {tab.url}\n{e.stack}"))
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


def _login(page: Any) -> None:
    from engagement.demo import DEMO_EMAIL, DEMO_PASSWORD

    page.goto(page.base + "/console/")
    page.fill("#f-email", DEMO_EMAIL)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_console_end_to_end(page: Any) -> None:
    _login(page)
    for chart in ("#chart-days", "#chart-map", "#chart-products", "#chart-spend", "#chart-payouts",
                  "#chart-funnel"):  # fmt: skip
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
    page.goto(page.base + "/console/#/provenance")
    page.wait_for_selector("#epcis-export")  # reading and exporting: any staff role
    assert page.locator("#epcis-import, #party-form").count() == 0
    page.goto(page.base + "/console/#/channel")
    page.wait_for_selector("#partners")
    assert page.locator("#partner-form").count() == 0
    page.locator("#partners tr", has_text="杭州西湖店").locator("a").click()
    page.wait_for_selector("#stock-units")
    assert page.locator("#create-invite, button[data-revoke]").count() == 0
    assert page.locator("#invites td", has_text="有效").count() >= 1
    assert requests == []


def _new_event_document(app: Flask) -> bytes:
    """A valid EPCIS document: the demo lot received at the demo's distributor."""
    from sqlalchemy import select

    from core.db import db
    from provenance import demo
    from provenance.epcis.parse import EPCIS_CONTEXT
    from provenance.models import Party, PartyRole

    distributor = db.session.scalars(
        select(Party).where(Party.role == PartyRole.distributor)
    ).first()
    assert distributor is not None
    event = {
        "type": "ObjectEvent", "eventID": "urn:uuid:5e1f0000-0000-4000-8000-000000000001",
        "eventTime": "2026-10-16T10:00:00+08:00", "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE", "bizStep": demo.BIZ + "receiving",
        "bizLocation": {"id": distributor.uri},
        "quantityList": [{"epcClass": f"https://id.gs1.org/01/{demo.PRODUCT_GTIN}/10/"
                                      f"{demo.PRODUCT_LOT}", "quantity": 24}],
    }  # fmt: skip
    document = {
        "@context": [EPCIS_CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-10-16T10:00:00Z", "epcisBody": {"eventList": [event]},
    }  # fmt: skip
    return json.dumps(document).encode()


def test_provenance_pages(page: Any, app: Flask, demo_output: str) -> None:
    """Lots and a lot's journey (timeline, map, verified marks, carbon), the shopper's page as a
    preview, a unit's story, EPCIS export (a download) and import (errors shown, then stored)."""
    story_code = re.findall(r"/story/([A-Z2-7]+)", demo_output)[0]
    _login(page)
    page.wait_for_selector("#chart-days canvas", timeout=15000)
    page.goto(page.base + "/console/#/provenance")
    row = page.locator("#lots tr", has_text="L2026-10F")
    row.locator("a").click()
    _charts_drawn(page, "#chart-journey")
    assert page.locator("#journey-timeline > li").count() == 6
    assert page.locator("#tile-steps").inner_text() == "6"
    assert page.locator(".claim.verified").count() >= 1
    assert page.locator(".claim.unverified").count() >= 1
    assert "kg CO2e" in page.inner_text("#co2e-total")
    assert "呼伦贝尔绿源牧场" in page.inner_text("#journey-timeline")
    page.fill("#f-preview-code", f"{page.base}/story/{story_code}")
    page.click("#story-preview button[type=submit]")
    frame = page.frame_locator("#story-preview iframe")
    frame.locator("[data-verdict=authentic]").wait_for()
    frame.locator("svg").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "console-provenance-lot.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#epcis-export button[type=submit]")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["type"] == "EPCISQueryDocument"
    events = exported["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 6

    page.goto(page.base + f"/console/#/provenance/units/{story_code}")
    page.wait_for_selector("#unit-verdict[data-verdict=authentic]")
    assert page.locator("#lifecycle td", has_text="生产").count() >= 1
    _charts_drawn(page, "#chart-journey")

    page.goto(page.base + "/console/#/provenance")
    page.wait_for_selector("#epcis-import")
    # The document exported above, again: its events are already stored (a clear 422).
    page.set_input_files("#f-epcis-file", files=[{"name": "again.json", "mimeType":
                         "application/json", "buffer": json.dumps(exported).encode()}])  # fmt: skip
    page.click("#epcis-import button[type=submit]")
    errors = page.locator("#import-errors")
    errors.wait_for()
    assert "eventID" in errors.inner_text() and errors.locator("li").count() == 6
    page.screenshot(path=str(ARTIFACTS / "console-provenance-import-errors.png"), full_page=True)
    page.set_input_files("#f-epcis-file", files=[{"name": "new.json", "mimeType":
                         "application/json", "buffer": _new_event_document(app)}])  # fmt: skip
    page.click("#epcis-import button[type=submit]")
    page.locator("#import-ok", has_text="1").wait_for()
    page.goto(page.base + "/console/#/provenance")
    page.locator("#lots tr", has_text="L2026-10F").locator("a").click()
    page.wait_for_selector("#journey-timeline")
    assert page.locator("#journey-timeline > li").count() == 7  # the receiving step imported
    page.goto(page.base + "/console/#/provenance")
    page.locator("#parties tr", has_text="广州南方分销").wait_for()

    # A tablet: the journey fits the width (nothing scrolls sideways).
    page.set_viewport_size({"width": 820, "height": 1180})
    page.locator("#lots tr", has_text="L2026-10F").locator("a").click()
    _charts_drawn(page, "#chart-journey")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "console-provenance-tablet.png"), full_page=True)
    page.click("#lang-switch")
    page.locator("h2", has_text="Journey map").wait_for()
    assert page.locator(".claim.verified em", has_text="signature verified").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "console-provenance-en.png"), full_page=True)


def test_channel_pages(page: Any) -> None:
    """The funnel and stock by partner, a partner's stock, an invite with its QR, revoked."""
    _login(page)
    page.wait_for_selector("#chart-days canvas", timeout=15000)
    page.goto(page.base + "/console/#/channel")
    _charts_drawn(page, "#chart-channel-funnel")
    _charts_drawn(page, "#chart-stock")
    assert page.locator("#partners tr", has_text="杭州西湖店").count() == 1
    assert page.locator("#funnel-table tbody tr").count() >= 1
    page.select_option("#funnel-group", "province")
    page.locator("#funnel-table td", has_text="浙江省").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "console-channel.png"), full_page=True)

    page.locator("#partners tr", has_text="杭州西湖店").locator("a").click()
    page.wait_for_selector("#stock-units")
    assert int(page.inner_text("#stock-units")) == 5  # a case of 6 received, one sold
    active = page.locator("#invites td", has_text="有效").count()
    page.click("#create-invite")
    page.wait_for_selector("#invite-code")
    code = page.inner_text("#invite-code")
    assert page.get_attribute("#invite-link", "href").endswith(f"/join/{code}")
    assert page.evaluate("document.querySelector('#new-invite img.qr').naturalWidth") > 0
    assert page.locator("#invites td", has_text="有效").count() == active + 1
    page.screenshot(path=str(ARTIFACTS / "console-channel-invite.png"), full_page=True)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#invites tr", has_text=code).locator("button[data-revoke]").click()
    page.locator("#invites tr", has_text=code).locator("text=已过期/已撤销").wait_for()
    joined = page.request.get(page.base + f"/join/{code}")  # the link the QR code holds
    assert joined.ok and 'data-invite="expired"' in joined.text()

    # The session expires while a partner is being typed in: back to login, nothing lost.
    from engagement.demo import DEMO_EMAIL, DEMO_PASSWORD

    page.goto(page.base + "/console/#/channel")
    page.wait_for_selector("#partner-form")
    page.select_option("#partner-form #f-kind", "store")
    page.fill("#partner-form #f-name", "宁波新店 Ningbo store")
    page.fill("#partner-form #f-province", "浙江省")
    page.fill("#partner-form #f-city", "宁波市")
    expired = {"code": 401, "status": "Unauthorized", "message": "expired",
               "reason": "token_expired"}  # fmt: skip
    page.route("**/api/v1/partners", lambda route: route.fulfill(
        status=401, content_type="application/json", body=json.dumps(expired)))  # fmt: skip
    page.click("#partner-form button[type=submit]")
    page.wait_for_selector("#f-email")
    assert "登录已过期" in page.inner_text("main")
    page.unroute("**/api/v1/partners")
    page.fill("#f-email", DEMO_EMAIL)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#partner-form")
    assert page.input_value("#partner-form #f-name") == "宁波新店 Ningbo store"
    assert page.input_value("#partner-form #f-city") == "宁波市"
    assert page.input_value("#partner-form #f-kind") == "store"
    page.click("#partner-form button[type=submit]")
    page.locator("h1", has_text="宁波新店").wait_for()
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(page.base + "/console/#/channel")
    _charts_drawn(page, "#chart-stock")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "console-channel-tablet.png"), full_page=True)
