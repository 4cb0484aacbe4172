"""The landing page and Swagger UI in a real browser, served by the Procfile's gunicorn on the
real servers: the page's script records the check on load, the button does without script, and
nothing breaks under the same-origin Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET
from tests.procfile import ROOT, running

pytestmark = [pytest.mark.browser, pytest.mark.realservices]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


def _seed() -> list[str]:
    from datetime import date

    from accounts.service import create_brand
    from anticounterfeit import codes
    from anticounterfeit import service as catalog
    from core.db import db

    owner = create_brand("browser", "浏览器茶庄", "owner@browser.test", "correct-horse")
    brand = owner.brand
    product = catalog.create_product(brand, catalog.NewProduct("龙井茶", "06901234567892"))
    lot = catalog.create_lot(brand, product, catalog.NewLot("L1", date(2026, 10, 1)))
    batch = catalog.create_code_batch(brand, catalog.NewCodeBatch(str(product.id), 5, str(lot.id)))
    catalog.activate_code_batch(batch)
    db.commit()
    job = catalog.print_job(batch, "")
    return [f"/01/{product.gtin}/21/{code}" for _, code, _ in codes.encode_range(job.key, 0, 3)]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's /usr/bin/chromium")
def test_landing_page_and_docs_in_chromium(app: Flask, committed: None) -> None:
    from playwright.sync_api import sync_playwright

    paths = _seed()
    env = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL), "SECRET_KEY": TEST_SECRET,
           "PAYOUT_PROVIDER": "sandbox", "WEB_CONCURRENCY": "1"}  # fmt: skip
    SHOTS.mkdir(exist_ok=True)
    with running(env, names=("web",)) as services, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        violations: list[str] = []
        page = _page(browser, violations, java_script=True)
        page.goto(services.base_url + paths[0])
        page.wait_for_selector('[data-verdict="authentic"]', timeout=60_000)
        assert "浏览器茶庄" in page.content()
        page.screenshot(path=str(SHOTS / "landing-script.png"))
        code = paths[0].rsplit("/", 1)[1]
        page.goto(f"{services.base_url}/c/{code}")  # the same phone again: an honest re-scan
        page.wait_for_selector('[data-verdict="authentic_repeat"]', timeout=60_000)

        still = _page(browser, violations, java_script=False)
        still.goto(services.base_url + paths[1])
        assert still.locator("[data-verdict='']").count() == 1  # nothing recorded yet
        still.click("button[type=submit]")
        still.wait_for_selector('[data-verdict="authentic"]', timeout=60_000)
        still.screenshot(path=str(SHOTS / "landing-button.png"))

        docs = _page(browser, violations, java_script=True)
        docs.goto(services.base_url + "/api/docs")
        docs.wait_for_selector(".opblock", timeout=60_000)
        docs.screenshot(path=str(SHOTS / "swagger-ui.png"))
        browser.close()
    assert violations == [], violations


def _page(browser: Any, violations: list[str], *, java_script: bool) -> Any:
    context = browser.new_context(user_agent=PHONE, java_script_enabled=java_script)
    page = context.new_page()
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("requestfailed", lambda r: violations.append(f"failed: {r.url}"))
    return page


