"""The request's one transaction boundary (``App.dispatch_request``) and the process-wide caches
made with the app."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.test_app import assert_envelope


def test_a_failing_commit_announces_nothing(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
) -> None:  # fmt: skip
    """A scan that wins, whose commit then fails: a clean error envelope, no reward in it, no
    award or draw kept, the budget's Redis reservation released, no payout job sent."""
    from campaigns import budget
    from campaigns.models import Award, Draw, Payout
    from core.broker import redis_client
    from core.db import db
    from tests.workers import run_workers

    c = make_codes()
    campaign = make_campaign(c.owner, budget_fen=1000)
    shopper = bearer(make_consumer(c.brand))
    db.commit()
    assert int(redis_client().get(budget.remaining_key(campaign.id))) == 1000

    def refuse(_session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("the server went away"))

    event.listen(Session, "before_commit", refuse)
    try:
        response = client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=shopper)
    finally:
        event.remove(Session, "before_commit", refuse)
    body = assert_envelope(response, 500, "internal_error")
    assert "rewards" not in body and "award_id" not in response.get_data(as_text=True)
    run_workers()
    for model in (Award, Draw, Payout):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert int(redis_client().get(budget.remaining_key(campaign.id))) == 1000
    again = client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=shopper).get_json()
    assert again["verdict"] == "authentic_repeat" and again["rewards"] == []


def test_the_caches_are_made_with_the_app_and_reached_one_way() -> None:
    from anticounterfeit.keys import KeyRing, keyring
    from anticounterfeit.scans.batchcache import BatchCache, batch_cache
    from app import init_caches
    from campaigns.cache import CampaignCache, campaign_cache

    fresh = Flask("fresh")  # (a second create_app would rebind the process's db and broker)
    fresh.config["SECRET_KEY"] = "another"
    init_caches(fresh)  # what create_app does
    kinds = {"keyring": KeyRing, "batch_cache": BatchCache, "campaign_cache": CampaignCache}
    for name, kind in kinds.items():
        assert isinstance(fresh.extensions[name], kind)
    with fresh.app_context():
        assert keyring() is fresh.extensions["keyring"]
        assert batch_cache() is batch_cache() and campaign_cache() is campaign_cache()
        del fresh.extensions["keyring"]
        with pytest.raises(KeyError):
            keyring()  # never made lazily on the request path
