"""A fraud rejection keeps the one lock order: campaign, tier, award, payout (README, "Lock order").

Before, ``holds.reject`` locked the awards first and then cancelled each through
``campaigns.awards.cancel``, which locks the campaign: against a cancel or a campaign edit that
holds the campaign and wants the award, PostgreSQL killed one side of the cycle.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from tests.campaigns.conftest import scan_as

pytestmark = pytest.mark.realservices


def _reject_in_thread(app: Flask, brand_id: uuid.UUID, award_id: uuid.UUID) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        from accounts.models import Brand
        from core.db import db
        from fraud import holds

        with app.app_context():
            try:
                brand = db.session.get(Brand, brand_id)
                outcome["rejected"] = holds.reject(brand, [award_id], reason="fraud: test")
                db.commit()
            except Exception as error:  # noqa: BLE001  (the test reports it)
                outcome["error"] = repr(error)
                db.session.rollback()

    outcome["thread"] = threading.Thread(target=run)
    outcome["thread"].start()
    return outcome


def _wait_until_blocked(engine: Any) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 15
    with engine.connect() as watcher:
        while watcher.execute(query).scalar() == 0:
            assert time.monotonic() < deadline, "the rejection never waited for the campaign"
            time.sleep(0.05)
            watcher.rollback()


def test_reject_waits_for_the_campaign_before_it_locks_the_award(
    app: Flask, committed: None, client: Any, make_codes: Any, make_consumer: Any,
    make_campaign: Any, bearer: Any,
) -> None:  # fmt: skip
    from campaigns.models import Award, AwardStatus
    from core.db import db

    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = bearer(make_consumer(c.brand))
    db.commit()
    [reward] = scan_as(client, shopper, c.urls[0])["rewards"]
    award_id = uuid.UUID(reward["award_id"])

    with db.engine.connect() as other:  # another transaction, as a cancel or an edit would run
        other.execute(text("SET lock_timeout = '3s'"))
        other.execute(text("SELECT id FROM campaigns WHERE id = :id FOR UPDATE"),
                      {"id": campaign.id})  # fmt: skip
        rejecting = _reject_in_thread(app, c.brand.id, award_id)
        _wait_until_blocked(db.engine)  # the rejection now waits for the campaign
        started = time.monotonic()
        other.execute(text("SELECT id FROM awards WHERE id = :id FOR UPDATE"), {"id": award_id})
        waited = time.monotonic() - started
        other.commit()
    rejecting["thread"].join(10)

    assert "error" not in rejecting, rejecting.get("error")
    assert waited < 0.5, "the rejection held the award while it waited for the campaign"
    assert rejecting["rejected"] == [award_id]
    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.id == award_id))
    assert award is not None and award.status is AwardStatus.cancelled
