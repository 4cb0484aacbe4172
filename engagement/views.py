"""The page a phone camera opens: the printed GS1 Digital Link URL shows the verdict."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, make_response, render_template, request

from accounts.auth import client_ip
from anticounterfeit.scans.record import ScanInput
from core.lang import prefers_english
from engagement import service

bp = Blueprint("pages", __name__)
DEVICE_COOKIE = "did"


def _landing(raw: str) -> Response:
    device_id = request.cookies.get(DEVICE_COOKIE)
    if not device_id or len(device_id) > 64:
        device_id = "web-" + secrets.token_urlsafe(16)
    facts = ScanInput(raw=raw, device_id=device_id, ip=client_ip())
    english = prefers_english()
    config = current_app.config
    outcome = service.process_scan(facts, english=english, rate_limit=config["RATELIMIT_ENABLED"])
    payload = service.scan_payload(outcome, config["PUBLIC_BASE_URL"])
    response = make_response(render_template("scan.html", scan=payload, english=english))
    response.set_cookie(
        DEVICE_COOKIE, device_id, max_age=365 * 86400, httponly=True, samesite="Lax",
        secure=request.is_secure,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/01/<gtin>/21/<code>")
@bp.get("/01/<gtin>/21/<code>/<path:qualifiers>")
def digital_link(gtin: str, code: str, qualifiers: str = "") -> Response:
    """A GS1 Digital Link as printed in the QR code."""
    return _landing(f"/01/{gtin}/21/{code}")


@bp.get("/c/<code>")
def compact_link(code: str) -> Response:
    """The compact form of a code's URL."""
    return _landing(code)
