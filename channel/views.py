"""The page an invite link opens in a browser: ``GET /join/{code}``.

WeChat opens the mini-program from the link (its URL prefix is registered for the
mini-program); any other browser shows this page, which says where to enter the code."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from channel import partners
from core.lang import prefers_english

bp = Blueprint("channel_pages", __name__)


@bp.get("/join/<code>")
def join_page(code: str) -> Response:
    """Which partner the invite is for, whether it still works, and how to redeem it."""
    found = partners.find_invite(code[:32])
    invite, partner = found if found else (None, None)
    status = partners.invite_status(invite) if invite is not None else "unknown"
    html = render_template(
        "join.html", english=prefers_english(), status=status,
        code=invite.code if invite else None, partner=partner,
    )  # fmt: skip
    response = make_response(html, 200 if invite is not None else 404)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept-Language"
    return response
