"""The landing page: GET and HEAD record nothing, the page's own POST records the check, link
previews never count, and a poisoned device cookie is refused at the edge."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


def _path(url: str) -> str:
    return url.removeprefix("https://qr.example.test")


def _verdict(html: str) -> str:
    return html.split('data-verdict="', 1)[1].split('"', 1)[0]


def test_get_and_head_record_nothing(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    path = _path(c.urls[0])
    for _ in range(3):
        page = client.get(path, headers={"User-Agent": BROWSER})
        assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
        client.delete_cookie("did")  # every preview is a new cookieless client
        assert client.head(path, headers={"User-Agent": BROWSER}).status_code == 200
        assert client.get(f"/c/{c.rows[0][1]}", headers={"User-Agent": BROWSER}).status_code == 200
    assert "did=" not in page.headers.get("Set-Cookie", "")
    first = client.post(path, headers={"User-Agent": BROWSER})
    assert _verdict(first.get_data(as_text=True)) == "authentic"
    again = client.post(path, headers={"User-Agent": BROWSER})  # same cookie: an honest re-scan
    assert _verdict(again.get_data(as_text=True)) == "authentic_repeat"


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        {"User-Agent": "facebookexternalhit/1.1"},
        {"User-Agent": "WhatsApp/2.23.20.0"},
        {"User-Agent": "TelegramBot (like TwitterBot)"},
        {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        {"User-Agent": BROWSER, "Sec-Purpose": "prefetch"},
        {"User-Agent": ""},
    ],
)
def test_preview_agents_never_count(
    client: FlaskClient, make_codes: Any, headers: dict[str, str]
) -> None:
    c = make_codes()
    path = _path(c.urls[0])
    for _ in range(2):
        client.delete_cookie("did")
        page = client.post(path, headers=headers)
        assert page.status_code == 200 and 'data-verdict=""' in page.get_data(as_text=True)
    client.delete_cookie("did")
    first = client.post(path, headers={"User-Agent": BROWSER}).get_data(as_text=True)
    assert _verdict(first) == "authentic"


def test_page_has_no_external_assets_and_a_strict_policy(
    client: FlaskClient, make_codes: Any
) -> None:
    c = make_codes()
    for page in (
        client.get(_path(c.urls[0]), headers={"User-Agent": BROWSER}),
        client.post(_path(c.urls[0]), headers={"User-Agent": BROWSER}),
    ):
        html = page.get_data(as_text=True)
        assert "http://" not in html and "https://" not in html and "<script>" not in html
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("cookie", ["did=a\x00b", 'did="\\000"', 'did="web-\\000x"'])
def test_poisoned_device_cookie_is_refused(app: Flask, make_codes: Any, cookie: str) -> None:
    c = make_codes()
    path = _path(c.urls[0])
    client = app.test_client(use_cookies=False)  # sends the raw Cookie header as given
    page = client.post(path, headers={"Cookie": cookie, "User-Agent": BROWSER})
    assert page.status_code == 422 and "did" in page.get_data(as_text=True)
    first = client.post(path, headers={"User-Agent": BROWSER}).get_data(as_text=True)
    assert _verdict(first) == "authentic"  # the refused request recorded nothing


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page too
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or an opaque redirect
    ],
)
def test_another_sites_post_records_nothing(
    client: FlaskClient, make_codes: Any, headers: dict[str, str]
) -> None:
    c = make_codes()
    path = _path(c.urls[0])
    for _ in range(2):
        client.delete_cookie("did")  # a hostile page's visitors: many browsers, many addresses
        page = client.post(path, headers={"User-Agent": BROWSER, **headers})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'data-verdict=""' in html and 'method="post"' in html
    first = client.post(path, headers={"User-Agent": BROWSER})
    assert _verdict(first.get_data(as_text=True)) == "authentic"  # nothing was recorded before


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed or opened from a bookmark
        {"Origin": "https://qr.example.test"},  # PUBLIC_BASE_URL, behind a proxy
        {"Origin": "http://localhost"},  # the host the request came to
    ],
)
def test_the_pages_own_post_records(
    client: FlaskClient, make_codes: Any, headers: dict[str, str]
) -> None:
    c = make_codes()
    page = client.post(_path(c.urls[0]), headers={"User-Agent": BROWSER, **headers})
    assert _verdict(page.get_data(as_text=True)) == "authentic"
