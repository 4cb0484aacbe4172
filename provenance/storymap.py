"""The journey map of a story page: the steps' coordinates projected into an inline SVG.

No tiles and no script: an equirectangular projection (longitudes scaled by the cosine of the
mean latitude, so shapes keep their proportions) fitted into a fixed view box, a light graticule
every whole degree or so, and the route in journey order with a numbered marker per place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 340.0, 220.0, 28.0


@dataclass(frozen=True)
class Place:
    """A numbered place of the journey, projected."""

    number: int
    name: str
    x: float
    y: float
    label_anchor: str


@dataclass(frozen=True)
class JourneyMap:
    """What the template draws."""

    width: float
    height: float
    places: list[Place]
    route: str  # SVG polyline points
    grid: list[tuple[float, float, float, float]]


def _places(steps: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    found: list[tuple[str, float, float]] = []
    for step in steps:
        loc = step["party"]["location"]
        point = (loc["name"], float(loc["lat"]), float(loc["lng"]))
        if not found or found[-1][1:] != point[1:]:
            found.append(point)
    return found


def _step(span: float) -> float:
    for candidate in (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 45):
        if span / candidate <= 6:
            return candidate
    return 90


def journey_map(steps: list[dict[str, Any]]) -> JourneyMap | None:
    """The map of a story's steps, or None when they name no place."""
    places = _places(steps)
    if not places:
        return None
    lats = [p[1] for p in places]
    lngs = [p[2] for p in places]
    k = math.cos(math.radians(sum(lats) / len(lats)))
    min_x, max_x = min(lngs) * k, max(lngs) * k
    min_y, max_y = min(lats), max(lats)
    span = max(max_x - min_x, (max_y - min_y) * (WIDTH - 2 * PAD) / (HEIGHT - 2 * PAD), 0.05)
    scale = (WIDTH - 2 * PAD) / span
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2

    def project(lat: float, lng: float) -> tuple[float, float]:
        return (WIDTH / 2 + (lng * k - cx) * scale, HEIGHT / 2 - (lat - cy) * scale)

    projected = []
    for i, (name, lat, lng) in enumerate(places, start=1):
        x, y = project(lat, lng)
        projected.append(
            Place(i, name, round(x, 1), round(y, 1), "end" if x > WIDTH * 0.6 else "start")
        )
    route = " ".join(f"{p.x},{p.y}" for p in projected)
    return JourneyMap(WIDTH, HEIGHT, projected, route, _grid(project, span / k, lats, lngs))


def _grid(project: Any, span_deg: float, lats: list[float], lngs: list[float]
          ) -> list[tuple[float, float, float, float]]:  # fmt: skip
    step = _step(span_deg)
    lines: list[tuple[float, float, float, float]] = []
    lo_lng, hi_lng = math.floor(min(lngs) / step - 3) * step, math.ceil(max(lngs) / step + 3) * step
    lo_lat, hi_lat = math.floor(min(lats) / step - 3) * step, math.ceil(max(lats) / step + 3) * step
    value = lo_lng
    while value <= hi_lng and len(lines) < 40:
        (x1, y1), (x2, y2) = project(lo_lat, value), project(hi_lat, value)
        lines.append((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)))
        value += step
    value = lo_lat
    while value <= hi_lat and len(lines) < 80:
        (x1, y1), (x2, y2) = project(value, lo_lng), project(value, hi_lng)
        lines.append((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)))
        value += step
    return lines
