"""Creating and changing campaigns through the API: valid terms, and every bad input refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.campaigns.conftest import campaign_body
from tests.test_app import assert_envelope


def _count(model: Any) -> int:
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_create_red_packet_campaign(
    client: FlaskClient, make_brand: Any, bearer: Any, make_codes: Any
) -> None:
    c = make_codes()
    body = campaign_body(
        prizes=[
            {"amount_fen": 88, "probability": 0.2},
            {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.5, "quantity": 1000},
        ],
        limits={"per_consumer_per_day": 3, "per_consumer_total": 10},
        targeting={"product_ids": [str(c.batch.product_id)], "code_batch_ids": [str(c.batch.id)],
                   "regions": ["上海市"], "new_consumers_only": False},
    )  # fmt: skip
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(c.owner))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "draft" and data["kind"] == "red_packet"
    assert data["budget_fen"] == 100_000 and data["spent_fen"] == 0 and data["awards_count"] == 0
    assert "budget_points" not in data and "spent_points" not in data
    assert [{k: v for k, v in p.items() if k not in ("id", "awarded")} for p in data["prizes"]] == [
        {"amount_fen": 88, "probability": 0.2, "quantity": None},
        {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.5, "quantity": 1000},
    ]
    assert data["limits"] == {"per_consumer_per_day": 3, "per_consumer_total": 10}
    assert data["targeting"]["regions"] == ["上海市"] and data["version"] == 1
    got = client.get(f"/api/v1/campaigns/{data['id']}", headers=bearer(c.owner)).get_json()
    assert got == data
    listed = client.get("/api/v1/campaigns", headers=bearer(c.owner))
    assert [x["id"] for x in listed.get_json()] == [data["id"]]
    assert '"total": 1' in listed.headers["X-Pagination"]


def test_create_points_campaign(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand()
    body = campaign_body("points", prizes=[{"min_points": 5, "max_points": 20, "probability": 0.5}],
                         points_valid_days=90)  # fmt: skip
    data = client.post("/api/v1/campaigns", json=body, headers=bearer(owner)).get_json()
    assert data["budget_points"] == 100_000 and data["spent_points"] == 0
    assert data["prizes"][0]["min_points"] == 5 and data["points_valid_days"] == 90


V, T = "validation_error", "invalid_campaign"  # schema refusals, terms refusals


def prize(**fields: Any) -> dict[str, Any]:
    return {"prizes": [fields]}


BAD = [
    ("probabilities above 1", {"prizes": [{"amount_fen": 1, "probability": 0.7},
                                          {"amount_fen": 2, "probability": 0.4}]}, "prizes", T),
    ("zero amount", prize(amount_fen=0, probability=0.5), "prizes", V),
    ("negative amount", prize(amount_fen=-5, probability=0.5), "prizes", V),
    ("min above max", prize(min_amount_fen=90, max_amount_fen=10, probability=0.5), "prizes", T),
    ("fixed and range", prize(amount_fen=5, min_amount_fen=1, max_amount_fen=9, probability=0.5),
     "prizes", T),
    ("no amount", prize(probability=0.5), "prizes", T),
    ("points names in cash", prize(points=5, probability=0.5), "prizes", T),
    ("zero probability", prize(amount_fen=5, probability=0), "prizes", V),
    ("probability above 1", prize(amount_fen=5, probability=1.5), "prizes", V),
    ("tiny probability", prize(amount_fen=5, probability=1e-9), "prizes", T),
    ("no prizes", {"prizes": []}, "prizes", V),
    ("end before start", {"ends_at": "2020-01-01T00:00:00Z"}, "ends_at", T),
    ("budget below a prize", {"budget_fen": 50}, "budget_fen", T),
    ("zero budget", {"budget_fen": 0}, "budget_fen", V),
    ("wrong budget name", {"budget_points": 100}, "budget_points", T),
    ("float amount", prize(amount_fen=8.8, probability=0.5), "prizes", V),
    ("string budget", {"budget_fen": "100"}, "budget_fen", V),
    ("bad kind", {"kind": "coupon"}, "kind", V),
    ("garbage time", {"starts_at": "yesterday"}, "starts_at", V),
    ("zero limit", {"limits": {"per_consumer_per_day": 0}}, "limits", V),
    ("quantity zero", prize(amount_fen=5, probability=0.5, quantity=0), "prizes", V),
]  # fmt: skip


@pytest.mark.parametrize(("label", "change", "field", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_terms_are_refused_and_nothing_is_written(
    client: FlaskClient, make_brand: Any, bearer: Any, label: str, change: dict[str, Any],
    field: str, reason: str,
) -> None:  # fmt: skip
    from campaigns.models import Campaign, PrizeTier

    owner = make_brand()
    body = {**campaign_body(), **change}
    if "budget_points" in change:
        body.pop("budget_fen")
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(owner))
    data = assert_envelope(response, 422, reason)
    assert field in data["errors"] or field in str(data["errors"]), data
    assert _count(Campaign) == 0 and _count(PrizeTier) == 0


def test_missing_budget_is_required(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand()
    body = campaign_body()
    body.pop("budget_fen")
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(owner))
    assert "budget_fen" in assert_envelope(response, 422, "invalid_campaign")["errors"]


def test_another_brands_products_are_refused(
    client: FlaskClient, make_brand: Any, bearer: Any, make_codes: Any
) -> None:
    from campaigns.models import Campaign

    theirs = make_codes()
    owner = make_brand()
    for targeting in (
        {"product_ids": [str(theirs.batch.product_id)]},
        {"code_batch_ids": [str(theirs.batch.id)]},
        {"product_ids": ["not-a-uuid"]},
        {"regions": ["上海"]},
    ):
        body = campaign_body(targeting=targeting)
        response = client.post("/api/v1/campaigns", json=body, headers=bearer(owner))
        assert_envelope(response, 422, "unknown_target")
    assert _count(Campaign) == 0


def test_roles_and_tenancy(client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any,
                           make_campaign: Any) -> None:  # fmt: skip
    owner, other = make_brand(), make_brand()
    campaign = make_campaign(owner)
    analyst = make_staff(owner.brand, "analyst")
    response = client.post("/api/v1/campaigns", json=campaign_body(), headers=bearer(analyst))
    assert_envelope(response, 403, "role_forbidden")
    assert (
        client.get(f"/api/v1/campaigns/{campaign.id}", headers=bearer(analyst)).status_code == 200
    )
    for path in (f"/api/v1/campaigns/{campaign.id}", "/api/v1/campaigns/not-an-id"):
        assert_envelope(client.get(path, headers=bearer(other)), 404, "unknown_campaign")
    response = client.post(f"/api/v1/campaigns/{campaign.id}/pause", headers=bearer(other))
    assert_envelope(response, 404, "unknown_campaign")
