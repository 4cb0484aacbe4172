"""A GTIN belongs to one brand in a deployment; scans and the landing page name the brand."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.engagement.conftest import make_codes  # noqa: F401  (shared fixture)
from tests.test_app import assert_envelope

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"


def _product(client: FlaskClient, headers: dict[str, str], gtin: str) -> Any:
    return client.post("/api/v1/products", json={"name": "Tea", "gtin": gtin}, headers=headers)


def test_another_brands_gtin_is_taken(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    acme, other = bearer(make_brand("acme")), bearer(make_brand("other"))
    assert _product(client, acme, "06901234567892").status_code == 201
    assert_envelope(_product(client, other, "6901234567892"), 409, "gtin_taken")
    assert_envelope(_product(client, acme, "06901234567892"), 409, "duplicate_gtin")


def test_all_zeros_is_not_a_gtin(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    assert_envelope(_product(client, bearer(make_brand()), "00000000000000"), 422, "invalid_gtin")


def test_scan_and_landing_page_name_the_brand(
    client: FlaskClient, make_brand: Any, make_codes: Any  # noqa: F811
) -> None:
    owner = make_brand("acme", name="Acme 茶业")
    c = make_codes(owner=owner)
    body = client.post("/api/v1/scans", json={"code": c.urls[0]}).get_json()
    assert body["brand"] == {"slug": "acme", "name": "Acme 茶业"}
    forged = client.post("/api/v1/scans", json={"code": "ZZZZZZZZZZZZZZZZZZZZ"}).get_json()
    assert forged["brand"] is None
    page = client.post(c.urls[1].removeprefix("https://qr.example.test"),
                       headers={"User-Agent": BROWSER})  # fmt: skip
    assert 'data-brand="acme"' in page.get_data(as_text=True) and "Acme 茶业" in page.get_data(
        as_text=True
    )
