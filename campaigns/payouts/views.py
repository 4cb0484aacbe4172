"""The notification endpoints WeChat Pay calls (answers in WeChat's format, not API.md's)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from campaigns.payouts import notify
from core.db import db

log = logging.getLogger(__name__)
bp = Blueprint("wechat_pay_notify", __name__, url_prefix="/wechat/pay/notify")


def _xml(code: str, message: str, status: int) -> Response:
    body = (f"<xml><return_code><![CDATA[{code}]]></return_code>"
            f"<return_msg><![CDATA[{message}]]></return_msg></xml>")  # fmt: skip
    return Response(body, status=status, content_type="application/xml; charset=utf-8")


@bp.post("/v2")
def notify_v2() -> Response:
    """v2 red packet / payment notification (XML)."""
    try:
        notify.handle_v2(request.get_data(cache=False))
    except notify.Rejected as refused:
        db.session.rollback()
        log.warning("v2 notification rejected: %s", refused.message)
        return _xml("FAIL", refused.message, refused.status)
    return _xml("SUCCESS", "OK", 200)


@bp.post("/v3")
def notify_v3() -> Response | tuple[str, int]:
    """v3 transfer bill notification (signed JSON, encrypted resource)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        notify.handle_v3(headers, request.get_data(cache=False))
    except notify.Rejected as refused:
        db.session.rollback()
        log.warning("v3 notification rejected: %s", refused.message)
        response = jsonify({"code": "FAIL", "message": refused.message})
        response.status_code = refused.status
        return response
    return "", 204
