"""The story page in Debian's Chromium on a phone viewport (Playwright; no browser download).

Screenshots go to ``test-artifacts/``. Skipped, saying why, only where /usr/bin/chromium is
missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.serving import served

CHROMIUM = Path("/usr/bin/chromium")
LOADED = "img => img.complete && img.naturalWidth > 0"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium (/usr/bin/chromium) is "
        "not installed: apt-get install -y chromium",
    ),  # fmt: skip
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served on an ephemeral port of 127.0.0.1, in a thread."""
    from werkzeug.serving import make_server

    with served(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


@pytest.fixture
def story_code(committed: None, make_chain: Any, live_server: str) -> str:
    """A unit of the demo journey, committed, with photos served by the live server."""
    from core.db import db
    from provenance.demo import journey_document
    from provenance.epcis.capture import capture

    chain = make_chain()
    capture(chain.brand, journey_document(chain.demo, live_server), live_server)
    db.commit()
    return str(chain.codes[0])


def _page(browser: Any, url: str, locale: str) -> Any:
    context = browser.new_context(locale=locale, **PHONE)
    page = context.new_page()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    return page


def test_story_page_on_a_phone(live_server: str, story_code: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = _page(browser, f"{live_server}/story/{story_code}", "zh-CN")
            assert page.locator("[data-verdict=authentic] h1").inner_text() == "正品"
            assert page.locator(".timeline .step").count() == 6
            assert page.locator("svg.journey-map circle").count() == 6
            box = page.locator("svg.journey-map").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150
            verified = page.locator(".claim.verified")
            assert verified.count() == 1 and verified.is_visible()
            assert "已验证签名" in verified.inner_text()
            assert page.locator(".claim.unverified").count() == 1
            assert page.locator(".claim.unverified .status").inner_text() == "未验证"
            assert page.locator(".timeline img").count() == 2
            for photo in page.locator(".timeline img").all():  # lazy: they load when in view
                photo.scroll_into_view_if_needed()
                page.wait_for_function(LOADED, arg=photo.element_handle())
            page.evaluate("window.scrollTo(0, 0)")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 390  # nothing wider than the phone
            page.screenshot(path=str(ARTIFACTS / "story-phone-zh.png"), full_page=True)

            english = _page(browser, f"{live_server}/story/{story_code}", "en-US")
            assert english.locator("h1").first.inner_text() == "Genuine"
            assert english.locator(".claim.verified .status").inner_text() == "Signature verified"
            english.screenshot(path=str(ARTIFACTS / "story-phone-en.png"), full_page=True)

            forged = story_code[:-4] + ("AAAA" if not story_code.endswith("AAAA") else "BBBB")
            fake = _page(browser, f"{live_server}/story/{forged}", "en-US")
            assert fake.locator("[data-verdict=counterfeit]").is_visible()
            assert fake.locator(".timeline, svg.journey-map").count() == 0
            fake.screenshot(path=str(ARTIFACTS / "story-phone-counterfeit.png"), full_page=True)
        finally:
            browser.close()
