"""Campaign dates and prize amounts are bounded, so no arithmetic on them can overflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import campaign_body, scan_as


@pytest.fixture
def owner_headers(make_brand: Any, bearer: Any) -> tuple[Any, dict[str, str]]:
    owner = make_brand()
    return owner, bearer(owner)


@pytest.mark.parametrize(
    "dates",
    [
        {"starts_at": "2026-01-01T00:00:00+00:00", "ends_at": "9999-12-31T23:59:59+00:00"},
        {"starts_at": "2026-01-01T00:00:00+00:00", "ends_at": "2036-01-02T00:00:00+00:00"},
        {"starts_at": "9990-01-01T00:00:00+00:00", "ends_at": "9999-12-31T23:59:59+00:00"},
    ],
)
def test_far_future_dates_are_422(
    client: FlaskClient, owner_headers: Any, dates: dict[str, str]
) -> None:
    _, headers = owner_headers
    response = client.post("/api/v1/campaigns", json=campaign_body(**dates), headers=headers)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert "ends_at" in errors or "starts_at" in errors


def test_patch_cannot_move_the_end_to_year_9999(client: FlaskClient, owner_headers: Any) -> None:
    _, headers = owner_headers
    created = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers).get_json()
    response = client.patch(
        f"/api/v1/campaigns/{created['id']}", json={"ends_at": "9999-12-31T23:59:59Z"},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 422 and "ends_at" in response.get_json()["errors"]


def test_a_ten_year_campaign_wins_without_error(
    client: FlaskClient, owner_headers: Any, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    from core.db import utcnow

    owner, headers = owner_headers
    start = utcnow() - timedelta(days=1)
    body = campaign_body(
        starts_at=start.isoformat(), ends_at=(start + timedelta(days=3652)).isoformat()
    )
    created = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{cid}/activate", headers=headers).status_code == 200
    codes = make_codes(owner=owner)
    scan = scan_as(client, bearer(make_consumer(owner.brand)), codes.urls[0])
    assert [r["amount_fen"] for r in scan["rewards"]] == [88]


@pytest.mark.parametrize(
    ("kind", "prize", "field"),
    [
        ("red_packet", {"amount_fen": 20_001, "probability": 0.5}, "amount_fen"),
        ("red_packet", {"min_amount_fen": 1, "max_amount_fen": 10**9, "probability": 0.5},
         "max_amount_fen"),
        ("red_packet", {"amount_fen": 0, "probability": 0.5}, "amount_fen"),
        ("points", {"points": 1_000_001, "probability": 0.5}, "points"),
        ("points", {"min_points": 5, "max_points": 10**10, "probability": 0.5}, "max_points"),
    ],
)  # fmt: skip
def test_prizes_are_bounded(
    client: FlaskClient, owner_headers: Any, kind: str, prize: dict[str, Any], field: str
) -> None:
    _, headers = owner_headers
    budget = "budget_fen" if kind == "red_packet" else "budget_points"
    body = campaign_body(kind, prizes=[prize], **{budget: 10**11})
    response = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert "prizes" in str(response.get_json()["errors"]) and field in str(response.get_json())


@pytest.mark.parametrize("amount", [1, 20_000])
def test_red_packets_at_the_bounds_are_fine(
    client: FlaskClient, owner_headers: Any, amount: int
) -> None:
    _, headers = owner_headers
    body = campaign_body(prizes=[{"amount_fen": amount, "probability": 0.5}])
    assert client.post("/api/v1/campaigns", json=body, headers=headers).status_code == 201
