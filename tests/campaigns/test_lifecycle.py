"""Campaign lifecycle (409 invalid_transition), versions, and edits of live campaigns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import campaign_body, scan_as
from tests.test_app import assert_envelope

ALLOWED = {
    "draft": {"activate": "active", "end": "ended"},
    "active": {"pause": "paused", "end": "ended"},
    "paused": {"activate": "active", "end": "ended"},
    "ended": {},
}


def _to(client: FlaskClient, headers: dict[str, str], campaign_id: str, action: str) -> Any:
    return client.post(f"/api/v1/campaigns/{campaign_id}/{action}", headers=headers)


def _in_status(client: FlaskClient, headers: dict[str, str], status: str) -> str:
    cid = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers).get_json()["id"]
    path = {"draft": [], "active": ["activate"], "paused": ["activate", "pause"],
            "ended": ["end"]}[status]  # fmt: skip
    for action in path:
        assert _to(client, headers, cid, action).status_code == 200
    return str(cid)


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", ["activate", "pause", "end"])
def test_transitions(
    client: FlaskClient, make_brand: Any, bearer: Any, status: str, action: str
) -> None:
    headers = bearer(make_brand())
    cid = _in_status(client, headers, status)
    response = _to(client, headers, cid, action)
    if action in ALLOWED[status]:
        assert response.status_code == 200
        assert response.get_json()["status"] == ALLOWED[status][action]
    else:
        body = assert_envelope(response, 409, "invalid_transition")
        assert status in body["message"]
        assert (
            client.get(f"/api/v1/campaigns/{cid}", headers=headers).get_json()["status"] == status
        )


def test_a_campaign_past_its_end_cannot_be_activated(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from core.db import utcnow

    headers = bearer(make_brand())
    past = utcnow() - timedelta(days=1)
    body = campaign_body(starts_at=(past - timedelta(days=9)).isoformat(), ends_at=past.isoformat())
    cid = client.post("/api/v1/campaigns", json=body, headers=headers).get_json()["id"]
    assert_envelope(_to(client, headers, cid, "activate"), 409, "invalid_transition")


def test_editing_a_draft_keeps_version_one(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    headers = bearer(make_brand())
    cid = _in_status(client, headers, "draft")
    patch = {"name": "Renamed", "prizes": [{"amount_fen": 50, "probability": 0.5}]}
    data = client.patch(f"/api/v1/campaigns/{cid}", json=patch, headers=headers).get_json()
    assert data["name"] == "Renamed" and data["version"] == 1
    assert [p["amount_fen"] for p in data["prizes"]] == [50]
    versions = client.get(f"/api/v1/campaigns/{cid}/versions", headers=headers).get_json()
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["terms"]["tiers"][0]["min_amount"] == 50


def test_changing_live_prizes_creates_a_version_and_keeps_history(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from campaigns.models import Draw, PrizeTier
    from core.db import db

    c = make_codes()
    campaign = make_campaign(c.owner)
    headers, shopper = bearer(c.owner), make_consumer(c.brand)
    scan_as(client, bearer(shopper), c.urls[0])
    patch = {"prizes": [{"amount_fen": 66, "probability": 1.0, "quantity": 5}],
             "budget_fen": 200_000}  # fmt: skip
    response = client.patch(f"/api/v1/campaigns/{campaign.id}", json=patch, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["version"] == 2 and data["budget_fen"] == 200_000 and data["spent_fen"] == 88
    assert [(p["amount_fen"], p["quantity"]) for p in data["prizes"]] == [(66, 5)]
    [reward] = scan_as(client, bearer(shopper), c.urls[1])["rewards"]
    assert reward["amount_fen"] == 66
    draws = sorted(db.session.query(Draw).all(), key=lambda d: d.campaign_version)
    assert [(d.campaign_version, d.amount) for d in draws] == [(1, 88), (2, 66)]
    db.session.expire_all()
    old = db.session.get(PrizeTier, draws[0].tier_id)
    assert old is not None and old.retired and old.min_amount == 88
    versions = client.get(f"/api/v1/campaigns/{campaign.id}/versions", headers=headers).get_json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["terms"]["tiers"][0]["min_amount"] == 88


def test_live_edits_that_are_refused(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    campaign = make_campaign(c.owner, budget_fen=1000)
    headers = bearer(c.owner)
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    path = f"/api/v1/campaigns/{campaign.id}"
    response = client.patch(path, json={"budget_fen": 87}, headers=headers)
    assert_envelope(response, 422, "invalid_campaign")  # below what has been awarded (88)
    response = client.patch(path, json={"starts_at": "2026-01-01T00:00:00Z"}, headers=headers)
    assert_envelope(response, 422, "invalid_campaign")
    response = client.patch(path, json={"kind": "points"}, headers=headers)
    assert_envelope(response, 422, "invalid_campaign")
    assert _to(client, headers, str(campaign.id), "end").status_code == 200
    response = client.patch(path, json={"name": "again"}, headers=headers)
    assert_envelope(response, 409, "invalid_transition")
    assert client.get(path, headers=headers).get_json()["version"] == 1
