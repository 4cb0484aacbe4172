"""Language negotiation shared by the API and the pages."""

from __future__ import annotations

from flask import request


def prefers_english() -> bool:
    """zh-CN unless the caller's Accept-Language prefers English."""
    if "Accept-Language" not in request.headers:
        return False
    return request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN") == "en"
