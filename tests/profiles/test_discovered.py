"""Discovered segments find a trend planted in synthetic data."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.profiles.synthetic import plant


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def test_a_planted_trend_comes_first(
    client: FlaskClient, make_codes: Any, make_staff: Any, bearer: Any
) -> None:
    codes = make_codes(1)
    brand, tea = codes.brand, codes.batch.product_id
    cake = make_codes(1, owner=codes.owner, gtin="06901234567809").batch.product_id
    # Steady: 45 buyers of the cake in Shanghai last week and this week.
    plant(brand, 45, place=("上海市", "上海市"), product_id=cake, scanned_days_ago=(10, 2))
    # Background noise: 30 tea buyers in Hangzhou scan every week.
    plant(brand, 30, place=("浙江省", "杭州市"), product_id=tea, scanned_days_ago=(9, 3))
    # The trend: 50 new tea buyers in Hangzhou this week, with an interest in 绿茶.
    plant(brand, 50, place=("浙江省", "杭州市"), product_id=tea, first_days_ago=4,
          last_days_ago=2, scanned_days_ago=(2,), interests=("绿茶",))  # fmt: skip
    # Too small to show: 9 buyers in Guangzhou (everything below k = 20 is dropped).
    plant(brand, 9, place=("广东省", "广州市"), product_id=tea, scanned_days_ago=(1,))
    headers = bearer(make_staff(brand, "analyst"))
    response = client.get("/api/v1/segments/discovered", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    found = response.get_json()
    top = {f["kind"]: f for f in found[:2]}  # the trend, seen two ways, leads (equal growth)
    cell = top["product_city_lifecycle"]
    assert cell["dimensions"] == {
        "product_id": str(tea),
        "product_name": "龙井茶 Longjing tea",
        "province": "浙江省",
        "city": "杭州市",
        "lifecycle": "new",
    }
    assert (cell["this_week"], cell["last_week"], cell["growth"]) == (40, None, 2.0)
    assert top["interest_province"]["dimensions"] == {"interest": "绿茶", "province": "浙江省"}
    steady = [f for f in found if f["dimensions"].get("city") == "上海市"]
    assert steady and all(f["growth"] == 0 for f in steady)
    assert not [f for f in found if f["dimensions"].get("province") == "广东省"]
    assert all(f["this_week"] % 20 == 0 for f in found)
    growths = [f["growth"] for f in found]
    assert growths == sorted(growths, reverse=True)
    # The cell's rule selects it as a segment.
    saved = client.post("/api/v1/segments", json={"name": "trend", "rule": cell["rule"]},
                        headers=headers).get_json()  # fmt: skip
    assert saved["size"] == 40
