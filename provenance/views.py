"""The story page a shopper opens from a scan: ``GET /story/{code}``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template

from core.lang import prefers_english
from provenance import service, texts
from provenance.storymap import journey_map

bp = Blueprint("story_pages", __name__)


@bp.app_template_filter("amount")
def amount(value: float, digits: int = 1) -> str:
    """A quantity for people: thousands grouped, trailing zeros dropped (14,400; 0.42)."""
    if abs(value) < 10**-digits and value:
        return f"{value:.2g}"
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.app_template_filter("own_origin")
def own_origin(url: str) -> str:
    """A URL under ``PUBLIC_BASE_URL`` as a path: the page loads it from whatever host it was
    opened on (``127.0.0.1`` or ``localhost``), which its same-origin policy allows."""
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    return url[len(base) :] if url.startswith(base + "/") else url


@bp.get("/story/<code>")
def story_page(code: str) -> Response:
    """The unit's story for a phone (records no scan)."""
    english = prefers_english()
    story = service.unit_story(code, english)
    journey = journey_map(story["steps"])
    html = render_template(
        "story.html", story=story, t=texts.labels(english), label=texts.label,
        step_title=texts.step_title, english=english, journey=journey,
        place_numbers={p.name: p.number for p in journey.places} if journey else {},
    )  # fmt: skip
    response = make_response(html)
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "no-store"
    return response
