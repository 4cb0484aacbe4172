"""Offline region lookup: the nearest Chinese district to a point, with its city and province.

Reads ``cpca/resources/adcodes.csv`` (adcode, name, longitude, latitude of every province, city and
district) directly, without importing ``cpca`` (which imports pandas). The places are indexed once,
lazily, in a grid of 1 degree cells searched ring by ring, so a lookup takes microseconds.

Centroids only: a point is given the district whose centroid is nearest, which near a border can
be the neighbouring district, and a point farther than ``MAX_DISTANCE_KM`` from every centroid
(the sea, other countries) has no region. Good enough for "first scanned in 上海市" and for telling
cities apart, not for address-level geography.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

EARTH_RADIUS_KM = 6371.0088
MAX_DISTANCE_KM = 150.0
_CELL_DEG = 1.0
_KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180
_MUNICIPALITIES = ("11", "12", "31", "50")  # 北京, 天津, 上海, 重庆
# City-level rows that are groupings, not cities (municipality parts, province-run counties).
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True)
class Region:
    """Where a point is: province, city and district names and the place's 12-digit adcode."""

    province: str
    city: str | None
    district: str | None
    adcode: str


@dataclass(frozen=True)
class _Place:
    adcode: str
    lat: float
    lng: float
    x: float  # unit vector on the sphere: chord distances are cheap and rank like great circles
    y: float
    z: float


@dataclass(frozen=True)
class _Index:
    names: dict[str, str]
    cells: dict[tuple[int, int], list[_Place]]
    lat_range: tuple[float, float]
    lng_range: tuple[float, float]


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlng = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _unit(lat: float, lng: float) -> tuple[float, float, float]:
    p, q = math.radians(lat), math.radians(lng)
    return math.cos(p) * math.cos(q), math.cos(p) * math.sin(q), math.sin(p)


def _cell(lat: float, lng: float) -> tuple[int, int]:
    return math.floor(lat / _CELL_DEG), math.floor(lng / _CELL_DEG)


def _read_rows() -> list[tuple[str, str, str, str]]:
    data = resources.files("cpca").joinpath("resources/adcodes.csv").read_bytes()
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    return [(r["adcode"], r["name"], r["latitude"], r["longitude"]) for r in reader]


def _leaves(rows: list[tuple[str, str, str, str]]) -> list[_Place]:
    """Places with coordinates and no located place below them (districts, undivided cities)."""
    located = [(code, float(lat), float(lng)) for code, _, lat, lng in rows if lat and lng]
    parents = {code[:2] + "0" * 10 for code, _, _ in located if code[2:] != "0" * 10}
    parents |= {code[:4] + "0" * 8 for code, _, _ in located if code[4:] != "0" * 8}
    return [_Place(c, lat, lng, *_unit(lat, lng)) for c, lat, lng in located if c not in parents]


@lru_cache(maxsize=1)
def _index() -> _Index:
    rows = _read_rows()
    cells: dict[tuple[int, int], list[_Place]] = {}
    leaves = _leaves(rows)
    for place in leaves:
        cells.setdefault(_cell(place.lat, place.lng), []).append(place)
    lats, lngs = [p.lat for p in leaves], [p.lng for p in leaves]
    return _Index(
        names={code: name for code, name, _, _ in rows},
        cells=cells,
        lat_range=(min(lats), max(lats)),
        lng_range=(min(lngs), max(lngs)),
    )


def _covered_km(lat: float, lng: float, ring: int) -> float:
    """A lower bound on the distance from the point to any place outside the searched rings."""
    ci, cj = _cell(lat, lng)
    dlat = min(lat - (ci - ring) * _CELL_DEG, (ci + ring + 1) * _CELL_DEG - lat)
    dlng = min(lng - (cj - ring) * _CELL_DEG, (cj + ring + 1) * _CELL_DEG - lng)
    # Distance to the nearest meridian bounding the box: asin(cos(lat) * sin(dlng)).
    across = math.asin(min(1.0, math.cos(math.radians(lat)) * math.sin(math.radians(dlng))))
    return min(dlat * _KM_PER_DEG, across * EARTH_RADIUS_KM)


def _ring(ci: int, cj: int, ring: int) -> list[tuple[int, int]]:
    if ring == 0:
        return [(ci, cj)]
    side = range(-ring, ring + 1)
    inner = side[1:-1]
    rows = [(ci - ring, cj + d) for d in side] + [(ci + ring, cj + d) for d in side]
    return rows + [(ci + d, cj - ring) for d in inner] + [(ci + d, cj + ring) for d in inner]


def _nearest(index: _Index, lat: float, lng: float) -> _Place | None:
    x, y, z = _unit(lat, lng)
    ci, cj = _cell(lat, lng)
    best: _Place | None = None
    best_chord2 = math.inf
    for ring in range(0, 1 + math.ceil(90 / _CELL_DEG)):
        for cell in _ring(ci, cj, ring):
            for p in index.cells.get(cell, ()):
                chord2 = (p.x - x) ** 2 + (p.y - y) ** 2 + (p.z - z) ** 2
                if chord2 < best_chord2:
                    best, best_chord2 = p, chord2
        best_km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(best_chord2) / 2))
        covered = _covered_km(lat, lng, ring)
        if best_km <= covered or covered > MAX_DISTANCE_KM:
            break
    return best


def _plausible(index: _Index, lat: float, lng: float) -> bool:
    if not (math.isfinite(lat) and math.isfinite(lng) and abs(lat) <= 90 and abs(lng) <= 180):
        return False
    # Cheap rejection far from China; the margin exceeds MAX_DISTANCE_KM at China's latitudes.
    margin = 3.0
    (lat0, lat1), (lng0, lng1) = index.lat_range, index.lng_range
    return lat0 - margin <= lat <= lat1 + margin and lng0 - margin <= lng <= lng1 + margin


def _region(index: _Index, adcode: str) -> Region:
    province = index.names[adcode[:2] + "0" * 10]
    city = index.names.get(adcode[:4] + "0" * 8)
    if adcode[:2] in _MUNICIPALITIES:
        city = province
    elif city in _PLACEHOLDER_NAMES or adcode[2:] == "0" * 10:
        city = None
    district = index.names[adcode] if adcode[4:6] != "00" else None
    return Region(province=province, city=city, district=district, adcode=adcode)


def region_for(lat: float, lng: float) -> Region | None:
    """The region of the nearest district, or None for invalid coordinates or outside China."""
    index = _index()
    if not _plausible(index, lat, lng):
        return None
    place = _nearest(index, lat, lng)
    if place is None or distance_km(lat, lng, place.lat, place.lng) > MAX_DISTANCE_KM:
        return None
    return _region(index, place.adcode)


@lru_cache(maxsize=1)
def region_names() -> frozenset[str]:
    """Every province and city name a ``Region`` can carry (for validating targeting)."""
    index = _index()
    return frozenset(
        name
        for code, name in index.names.items()
        if code[4:] == "0" * 8 and name not in _PLACEHOLDER_NAMES
    )


@lru_cache(maxsize=1)
def _points() -> dict[str, tuple[float, float]]:
    return {code: (float(lat), float(lng)) for code, _, lat, lng in _read_rows() if lat and lng}


def city_point(region: Region) -> tuple[float, float] | None:
    """The centroid of the region's city (a municipality's for 北京/上海/...; the place's own
    where no city level exists): what a point is coarsened to without precise-location consent."""
    points, code = _points(), region.adcode
    if code[:2] in _MUNICIPALITIES:
        candidates = [code[:2] + "0" * 10]
    elif region.city is not None:
        candidates = [code[:4] + "0" * 8]
    else:
        candidates = [code]
    candidates.append(code)
    return next((points[c] for c in candidates if c in points), None)


@lru_cache(maxsize=1)
def province_names() -> tuple[str, ...]:
    """Every province-level name a ``Region`` can carry, in adcode order."""
    index = _index()
    return tuple(
        name for code, name in sorted(index.names.items()) if code[2:] == "0" * 10
    )
