"""Offline region lookup from the adcode centroids."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import pytest

from anticounterfeit.geo import Region, distance_km, region_for


@pytest.mark.parametrize(
    ("lat", "lng", "province", "city"),
    [
        (31.23, 121.47, "上海市", "上海市"),
        (39.90, 116.40, "北京市", "北京市"),
        (39.13, 117.20, "天津市", "天津市"),
        (29.56, 106.55, "重庆市", "重庆市"),
        (23.13, 113.26, "广东省", "广州市"),
        (22.54, 114.06, "广东省", "深圳市"),
        (30.27, 120.15, "浙江省", "杭州市"),
        (30.66, 104.07, "四川省", "成都市"),
        (43.83, 87.62, "新疆维吾尔自治区", "乌鲁木齐市"),
        (45.80, 126.53, "黑龙江省", "哈尔滨市"),
        (20.04, 110.20, "海南省", "海口市"),
    ],
)
def test_cities(lat: float, lng: float, province: str, city: str) -> None:
    region = region_for(lat, lng)
    assert region is not None
    assert (region.province, region.city) == (province, city)
    assert region.district and len(region.adcode) == 12 and region.adcode.isdigit()


def test_shanghai_district() -> None:
    region = region_for(31.23, 121.47)
    assert region is not None
    assert region.province == "上海市"
    assert region.adcode.startswith("31")
    assert region.district == "黄浦区"


def test_undivided_city_and_sars() -> None:
    dongguan = region_for(23.02, 113.75)
    assert dongguan == Region(
        province="广东省", city="东莞市", district=None, adcode="441900000000"
    )
    hong_kong = region_for(22.30, 114.17)
    assert hong_kong is not None and hong_kong.province == "香港特别行政区"


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        (0.0, 0.0),  # Gulf of Guinea
        (30.0, 126.0),  # East China Sea
        (35.68, 139.69),  # Tokyo
        (37.57, 126.98),  # Seoul
        (51.5, -0.12),  # London
        (-33.87, 151.21),  # Sydney
        (89.9, 120.0),
        (-89.9, 120.0),
    ],
)
def test_outside_china(lat: float, lng: float) -> None:
    assert region_for(lat, lng) is None


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(math.nan, 121.47), (31.23, math.nan), (math.inf, 0.0), (91.0, 121.0), (31.0, 181.0),
     (-90.5, 0.0), (31.0, -180.5)],
)  # fmt: skip
def test_invalid_coordinates(lat: float, lng: float) -> None:
    assert region_for(lat, lng) is None


def test_distance_km() -> None:
    assert distance_km(31.23, 121.47, 31.23, 121.47) == 0
    # Shanghai to Beijing is about 1,070 km.
    assert 1040 < distance_km(31.23, 121.47, 39.90, 116.40) < 1090
    assert distance_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0088)
    one_degree = distance_km(0, 0, 1, 0)
    assert one_degree == pytest.approx(111.195, abs=0.01)


def test_a_lookup_examines_a_few_districts_not_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast by construction (a grid of cells around the point), not by a wall-clock figure."""
    from anticounterfeit import geo

    index = geo._index()
    everyone = sum(len(places) for places in index.cells.values())
    examined: list[int] = []

    class Counting(dict):  # type: ignore[type-arg]
        def get(self, key: Any, default: Any = None) -> Any:
            found = super().get(key, default)
            examined.append(len(found or ()))
            return found

    monkeypatch.setattr(geo, "_index", lambda: replace(index, cells=Counting(index.cells)))
    rng = random.Random(7)
    points = [(rng.uniform(18, 50), rng.uniform(75, 130)) for _ in range(2000)]
    for lat, lng in points:
        region_for(lat, lng)
    assert everyone > 2000 and sum(examined) / len(points) < everyone / 50


def test_grid_search_finds_the_nearest_place() -> None:
    from anticounterfeit.geo import MAX_DISTANCE_KM, _index, _nearest

    index = _index()
    places = [p for cell in index.cells.values() for p in cell]
    rng = random.Random(11)
    for _ in range(500):
        lat, lng = rng.uniform(15, 54), rng.uniform(72, 136)
        found = _nearest(index, lat, lng)
        best = min(distance_km(lat, lng, p.lat, p.lng) for p in places)
        if best <= MAX_DISTANCE_KM:
            assert found is not None
            assert distance_km(lat, lng, found.lat, found.lng) == pytest.approx(best)
