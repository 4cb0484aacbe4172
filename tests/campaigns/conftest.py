"""Fixtures for campaigns: campaign bodies and factories, logged-in scans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401  (shared fixtures)


def campaign_body(kind: str = "red_packet", **overrides: Any) -> dict[str, Any]:
    """A valid API body: running since yesterday for 30 days, one sure prize of 88 (fen/points)."""
    from core.db import utcnow

    now = utcnow()
    unit = "amount_fen" if kind == "red_packet" else "points"
    body: dict[str, Any] = {
        "name": "Autumn red packets" if kind == "red_packet" else "Autumn points",
        "kind": kind,
        ("budget_fen" if kind == "red_packet" else "budget_points"): 100_000,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "prizes": [{unit: 88, "probability": 1.0}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_campaign() -> Any:
    """Factory: a campaign of the owner's brand (active unless ``activate=False``)."""
    from campaigns import service
    from campaigns.schemas import CampaignCreateSchema

    def make(
        owner: Any, kind: str = "red_packet", *, activate: bool = True, **overrides: Any
    ) -> Any:
        body = CampaignCreateSchema().load(campaign_body(kind, **overrides))
        campaign = service.create_campaign(owner.brand, body, owner)
        if activate:
            campaign = service.transition(owner.brand, str(campaign.id), "activate")
        return campaign

    return make


def scan_as(client: FlaskClient, headers: dict[str, str], url: str, **body: Any) -> dict[str, Any]:
    """Scan ``url`` with a consumer's token; the response body."""
    response = client.post("/api/v1/scans", json={"code": url, **body}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()
    return data


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""
