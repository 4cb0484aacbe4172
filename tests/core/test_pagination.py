"""X-Pagination holds every key of API.md on every page, empty and past-the-end included."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

KEYS = {"total", "total_pages", "page", "first_page", "last_page"}


def _meta(client: FlaskClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    meta: dict[str, Any] = json.loads(response.headers["X-Pagination"])
    return meta


def test_empty_and_past_the_end_pages(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    from anticounterfeit import service

    owner = make_brand()
    headers = bearer(owner)
    empty = _meta(client, "/api/v1/products", headers)
    assert empty == {"total": 0, "total_pages": 1, "page": 1, "first_page": 1, "last_page": 1}
    for gtin in ("06901234567892", "00012345600012", "04006381333931"):
        service.create_product(owner.brand, service.NewProduct("Tea", gtin))
    past = _meta(client, "/api/v1/products?page=9&page_size=2", headers)
    assert set(past) >= KEYS and past["page"] == 9 and past["last_page"] == 2
    assert past["total"] == 3 and "next_page" not in past
    middle = _meta(client, "/api/v1/products?page=1&page_size=2", headers)
    assert middle["next_page"] == 2 and "previous_page" not in middle
