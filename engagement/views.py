"""The page a phone camera opens: the printed GS1 Digital Link URL.

Its GET (and HEAD) records nothing: link previews, mail scanners and prefetches fetch URLs
without a person looking at the item, and counting them would make a genuine item look copied.
The page records the check itself with a POST to the same URL: a script submits the form on
load, and clients without script get the button. Known link-preview agents never count, even if
they POST, and neither does a POST another site makes a visitor's browser send (a hidden form or a
``fetch`` on a hostile page would otherwise record checks from many visitors' addresses and make a
genuine item look copied): such a request gets the start page, which records only if the person's
own browser then submits it from this origin. The page may not be framed by other sites
(``core.security``), so a hostile page cannot run that submission unseen.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for

from accounts.auth import client_ip
from anticounterfeit.scans.record import ScanInput
from core.inputs import check_text
from core.lang import prefers_english
from engagement import service
from engagement.service import ScanOutcome
from provenance import service as provenance

bp = Blueprint("pages", __name__)
DEVICE_COOKIE = "did"
#: User agents of link unfurlers, crawlers and scanners: they fetch links nobody is looking at.
PREVIEW_AGENTS = re.compile(
    r"bot\b|bot/|spider|crawl|preview|facebookexternalhit|facebookcatalog|slack|whatsapp|"
    r"telegram|discord|skypeuri|iframely|embedly|outlook|microsoft office|bingpreview|"
    r"google-read-aloud|mediapartners|lighthouse|proofpoint|mimecast|"
    r"barracuda|symantec|fortiguard|wechat-preview|qq-url-manager|snapchat|pinterest|"
    r"redditbot|vkshare|w3c_validator|curl/|wget/|python-urllib|go-http-client|okhttp",
    re.IGNORECASE,
)


def is_preview_agent() -> bool:
    """Whether this request comes from a link previewer, crawler, scanner or a prefetch."""
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    if "prefetch" in purpose.lower() or "preview" in purpose.lower():
        return True
    agent = request.headers.get("User-Agent", "")
    return not agent or PREVIEW_AGENTS.search(agent) is not None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_cross_site() -> bool:
    """Whether another site's page made the browser send this request.

    Browsers say so in ``Sec-Fetch-Site``; older ones send ``Origin`` on every POST. A client
    that sends neither (curl, a test, an app) is not a browser acting for another page.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = {_origin(request.host_url), _origin(current_app.config["PUBLIC_BASE_URL"])}
    return origin.lower() not in own


def _device_id() -> tuple[str, bool]:
    """The ``did`` cookie (a 422 naming it if it cannot be stored), or a new id."""
    device_id = request.cookies.get(DEVICE_COOKIE)
    if device_id:
        check_text(device_id, DEVICE_COOKIE)
    if not device_id or len(device_id) > 64:
        return "web-" + secrets.token_urlsafe(16), True
    return device_id, False


def _start_page() -> Response:
    """The page a GET shows: nothing recorded; the form (and its script) does the check."""
    response = make_response(render_template("scan_start.html", english=prefers_english()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _story_link(outcome: ScanOutcome) -> str | None:
    """The unit's story page, when the unit has a journey and its verdict shows one."""
    r = outcome.result
    if r.batch is None or r.code is None or r.batch.product_batch is None:
        return None
    if r.verdict.value in provenance.NO_STORY:
        return None
    lot = r.batch.product_batch
    if not provenance.has_story(r.batch.brand_id, r.batch.product.gtin, lot.id, lot.lot):
        return None
    return url_for("story_pages.story_page", code=r.code)


def _record(raw: str) -> Response:
    """Verify and record the check of a person who opened the page."""
    device_id, new = _device_id()
    facts = ScanInput(raw=raw, device_id=device_id, ip=client_ip())
    english = prefers_english()
    config = current_app.config
    outcome = service.process_scan(facts, english=english, rate_limit=config["RATELIMIT_ENABLED"])
    payload = service.scan_payload(outcome, config["PUBLIC_BASE_URL"])
    html = render_template(
        "scan.html", scan=payload, english=english, story_link=_story_link(outcome)
    )
    response = make_response(html)
    if new:
        response.set_cookie(
            DEVICE_COOKIE, device_id, max_age=365 * 86400, httponly=True, samesite="Lax",
            secure=request.is_secure,
        )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _landing(raw: str) -> Response:
    if request.method != "POST" or is_preview_agent() or is_cross_site():
        return _start_page()
    return _record(raw)


@bp.route("/01/<gtin>/21/<code>", methods=["GET", "POST"])
@bp.route("/01/<gtin>/21/<code>/<path:qualifiers>", methods=["GET", "POST"])
def digital_link(gtin: str, code: str, qualifiers: str = "") -> Response:
    """A GS1 Digital Link as printed in the QR code."""
    return _landing(f"/01/{gtin}/21/{code}")


@bp.route("/c/<code>", methods=["GET", "POST"])
def compact_link(code: str) -> Response:
    """The compact form of a code's URL."""
    return _landing(code)
