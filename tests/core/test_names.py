"""Names people read are stripped, and refused when empty or carrying invisible characters."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import campaign_body
from tests.test_app import assert_envelope

BAD_NAMES = [
    "", "   ", "Tea\u202egnol", "Te\u200ba", "\u2066Tea\u2069", "Te\na", "T\x1bea", "\ufeffTea",
    "Tea\u200d",
]  # fmt: skip


@pytest.fixture
def headers(app: Any, make_brand: Any, bearer: Any) -> dict[str, str]:
    h: dict[str, str] = bearer(make_brand())
    return h


def _create(client: FlaskClient, headers: dict[str, str], kind: str, name: str) -> Any:
    if kind == "product":
        body = {"name": name, "gtin": "06901234567892"}
        return client.post("/api/v1/products", json=body, headers=headers)
    if kind == "campaign":
        return client.post("/api/v1/campaigns", json=campaign_body(name=name), headers=headers)
    if kind == "catalogue":
        body = {"name": name, "points_cost": 10}
        return client.post("/api/v1/catalogue-items", json=body, headers=headers)
    return client.patch("/api/v1/brand", json={"name": name}, headers=headers)


KINDS = ["product", "campaign", "catalogue", "brand"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_422(
    client: FlaskClient, headers: dict[str, str], kind: str, name: str
) -> None:
    response = _create(client, headers, kind, name)
    assert_envelope(response, 422, "validation_error")
    assert "name" in str(response.get_json()["errors"])


@pytest.mark.parametrize("kind", KINDS)
def test_names_are_stripped(client: FlaskClient, headers: dict[str, str], kind: str) -> None:
    response = _create(client, headers, kind, "  龙井茶 Longjing 🍵  ")
    assert response.status_code in (200, 201), response.get_json()
    assert response.get_json()["name"] == "龙井茶 Longjing 🍵"


def test_cli_brand_names_are_checked(app: Any) -> None:
    from accounts import service
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        service.create_brand("evil", "Acme\u202e", "o@evil.test", "correct-horse")
    owner = service.create_brand("fine", "  Acme  ", "o@fine.test", "correct-horse")
    assert owner.brand.name == "Acme"
