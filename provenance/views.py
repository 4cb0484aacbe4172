"""The story page a shopper opens from a scan: ``GET /story/{code}``."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from core.lang import prefers_english
from provenance import service, texts
from provenance.storymap import journey_map

bp = Blueprint("story_pages", __name__)


@bp.get("/story/<code>")
def story_page(code: str) -> Response:
    """The unit's story for a phone (records no scan)."""
    english = prefers_english()
    story = service.unit_story(code, english)
    html = render_template(
        "story.html", story=story, t=texts.labels(english), label=texts.label,
        step_title=texts.step_title, english=english, journey=journey_map(story["steps"]),
    )  # fmt: skip
    response = make_response(html)
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "no-store"
    return response
