"""``/console/``: the brand console's page. Everything it shows comes from the public JSON API,
called from the browser with the staff token (so the API is proven enough for a console)."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.lang import prefers_english

bp = Blueprint("console", __name__)


@bp.get("/console/")
def console() -> str:
    """The console's single page (zh-CN unless the browser prefers English; a switch on it)."""
    return render_template("console/index.html", lang="en" if prefers_english() else "zh-CN")
