"""The journey map of a story page: the steps' coordinates projected into an inline SVG.

No tiles and no script: an equirectangular projection (longitudes scaled by the cosine of the
mean latitude, so shapes keep their proportions) fitted into a view box as wide as a phone and
as tall as the journey needs, a light graticule, the route in journey order and a numbered
marker per place. Names are drawn beside a marker only where they do not collide with an
earlier one; the page lists every place under the map by its number anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WIDTH, PAD = 340.0, 30.0
MIN_HEIGHT, MAX_HEIGHT = 180.0, 400.0
LABEL_GAP = 16.0  # vertical room one label needs
MARKER = 22.0  # a marker's diameter and a little air
Projection = Callable[[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Place:
    """A numbered place of the journey, projected."""

    number: int
    name: str
    x: float
    y: float
    label_anchor: str
    labelled: bool


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
        if not any(p[1:] == point[1:] for p in found):
            found.append(point)
    return found


def _fit(lats: list[float], lngs: list[float]) -> tuple[float, Projection]:
    """The view box height and the projection that fits the places into it."""
    k = math.cos(math.radians(sum(lats) / len(lats)))
    min_x, max_x = min(lngs) * k, max(lngs) * k
    min_y, max_y = min(lats), max(lats)
    span_x, span_y = max(max_x - min_x, 0.05), max(max_y - min_y, 0.05)
    inner = WIDTH - 2 * PAD
    height = min(max(inner * span_y / span_x + 2 * PAD, MIN_HEIGHT), MAX_HEIGHT)
    scale = min(inner / span_x, (height - 2 * PAD) / span_y)
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2

    def project(lat: float, lng: float) -> tuple[float, float]:
        return (WIDTH / 2 + (lng * k - cx) * scale, height / 2 - (lat - cy) * scale)

    return height, project


def journey_map(steps: list[dict[str, Any]]) -> JourneyMap | None:
    """The map of a story's steps, or None when they name no place."""
    found = _places(steps)
    if not found:
        return None
    lats, lngs = [p[1] for p in found], [p[2] for p in found]
    height, project = _fit(lats, lngs)
    places: list[Place] = []
    for number, (name, lat, lng) in enumerate(found, start=1):
        x, y = _dodge(*project(lat, lng), places, height)
        anchor = "end" if x > WIDTH * 0.6 else "start"
        places.append(Place(number, name, x, y, anchor, _label_fits(name, x, y, anchor, places)))
    route = " ".join(f"{p.x},{p.y}" for p in places)
    return JourneyMap(WIDTH, round(height), places, route, _grid(project, lats, lngs))


def _dodge(x: float, y: float, placed: list[Place], height: float) -> tuple[float, float]:
    """Move a marker off the markers already placed (nearby places would hide each other)."""
    for ring in range(12):
        angle, radius = ring * 2.4, MARKER * (1 + ring // 4)
        cx = min(max(x + (radius * math.cos(angle) if ring else 0), PAD / 2), WIDTH - PAD / 2)
        cy = min(max(y + (radius * math.sin(angle) if ring else 0), PAD / 2), height - PAD / 2)
        if all(math.hypot(p.x - cx, p.y - cy) >= MARKER for p in placed):
            return round(cx, 1), round(cy, 1)
    return round(x, 1), round(y, 1)


def _text_width(text: str) -> float:
    return sum(11.0 if ord(ch) > 0x2E80 else 6.2 for ch in text)


def _label_fits(name: str, x: float, y: float, anchor: str, placed: list[Place]) -> bool:
    """Whether a label beside the marker at (x, y) clears every other marker and label."""
    width = _text_width(name)
    left = x - 15 - width if anchor == "end" else x + 15
    for p in placed[:-1]:
        if abs(p.y - y) < MARKER and left - MARKER / 2 < p.x < left + width + MARKER / 2:
            return False
        if p.labelled and abs(p.y - y) < LABEL_GAP:
            p_left = p.x - 15 - _text_width(p.name) if p.label_anchor == "end" else p.x + 15
            if left < p_left + _text_width(p.name) and p_left < left + width:
                return False
    return True


def _step(span: float) -> float:
    for candidate in (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 45):
        if span / candidate <= 8:
            return candidate
    return 90


def _grid(project: Projection, lats: list[float], lngs: list[float]
          ) -> list[tuple[float, float, float, float]]:  # fmt: skip
    step = _step(max(max(lats) - min(lats), max(lngs) - min(lngs)))
    lo_lng, hi_lng = math.floor(min(lngs) / step - 4) * step, math.ceil(max(lngs) / step + 4) * step
    lo_lat, hi_lat = math.floor(min(lats) / step - 4) * step, math.ceil(max(lats) / step + 4) * step
    lines: list[tuple[float, float, float, float]] = []
    for i in range(int(round((hi_lng - lo_lng) / step)) + 1):
        (x1, y1), (x2, y2) = project(lo_lat, lo_lng + i * step), project(hi_lat, lo_lng + i * step)
        lines.append((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)))
    for i in range(int(round((hi_lat - lo_lat) / step)) + 1):
        (x1, y1), (x2, y2) = project(lo_lat + i * step, lo_lng), project(lo_lat + i * step, hi_lng)
        lines.append((round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)))
    return lines[:120]
