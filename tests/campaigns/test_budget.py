"""Redis reservations: released when the database or the transaction refuses; reconciled."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import scan_as


def remaining(campaign: Any) -> int | None:
    from campaigns import budget
    from core.broker import redis_client

    value = redis_client().get(budget.remaining_key(campaign.id))
    return None if value is None else int(value)


def test_activation_seeds_and_draws_reserve(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from core.db import db

    c = make_codes()
    campaign = make_campaign(c.owner, budget_fen=1000)
    assert remaining(campaign) is None  # seeded when the activation commits
    db.commit()
    assert remaining(campaign) == 1000
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    assert remaining(campaign) == 912


def test_a_failed_request_releases_its_reservation(

    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from campaigns.models import Award, Draw
    from core.db import db
    from engagement import service

    c = make_codes()
    campaign = make_campaign(c.owner, budget_fen=1000)
    shopper = make_consumer(c.brand)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the response could not be built")

    monkeypatch.setattr(service, "scan_payload", broken)
    response = client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=bearer(shopper))
    assert response.status_code == 500 and response.get_json()["reason"] == "internal_error"
    assert remaining(campaign) == 1000
    assert db.session.query(Award).count() == 0 and db.session.query(Draw).count() == 0


def test_missing_counters_are_seeded_from_the_database(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from core.broker import redis_client

    c = make_codes()
    prizes = [{"amount_fen": 100, "probability": 1, "quantity": 3}]
    campaign = make_campaign(c.owner, budget_fen=1000, prizes=prizes)
    shopper = make_consumer(c.brand)
    scan_as(client, bearer(shopper), c.urls[0])
    redis_client().flushdb()  # Redis restarted empty
    rewards = [len(scan_as(client, bearer(shopper), u)["rewards"]) for u in c.urls[1:5]]
    assert rewards == [1, 1, 0, 0]  # the tier's quantity (3) held across the loss
    assert remaining(campaign) == 700


def test_reconciliation_resets_drifted_counters(
    make_codes: Any, make_campaign: Any, make_consumer: Any, client: FlaskClient, bearer: Any
) -> None:
    from campaigns import budget
    from campaigns.jobs import reconcile_budgets
    from core.broker import redis_client

    c = make_codes()
    campaign = make_campaign(c.owner, budget_fen=1000)
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    assert reconcile_budgets() == {}
    redis_client().decrby(budget.remaining_key(campaign.id), 300)  # a reservation never released
    assert reconcile_budgets() == {str(campaign.id): 300}
    assert remaining(campaign) == 912


def test_ending_a_campaign_drops_its_counters(make_codes: Any, make_campaign: Any) -> None:
    from campaigns import service

    c = make_codes()
    campaign = make_campaign(c.owner)
    service.transition(c.brand, str(campaign.id), "end")
    from core.db import db

    db.commit()
    assert remaining(campaign) is None


def test_sweeps_are_enqueued_once_per_interval(app: Any) -> None:
    from workers import sweeps

    first = sweeps.tick()
    assert set(first) == {s.func for s in sweeps.SWEEPS}
    assert sweeps.tick() == []


def test_cancelling_awards_returns_their_amount(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_brand: Any,
) -> None:  # fmt: skip
    from campaigns.models import Campaign, PrizeTier
    from core.db import db
    from tests.test_app import assert_envelope

    c = make_codes()
    cash = make_campaign(c.owner, budget_fen=1000)
    points = make_campaign(c.owner, "points", budget_points=1000)
    app_ = client.application
    app_.config["PAYOUT_PROVIDER"] = "wechat_v3_transfer"  # not available: payouts stay pending
    try:
        shopper = make_consumer(c.brand)
        rewards = {r["kind"]: r for r in scan_as(client, bearer(shopper), c.urls[0])["rewards"]}
    finally:
        app_.config["PAYOUT_PROVIDER"] = "sandbox"
    db.commit()
    headers = bearer(c.owner)
    path = "/api/v1/awards/{}/cancel"
    for kind in ("red_packet", "points"):
        response = client.post(path.format(rewards[kind]["award_id"]), json={"reason": "fraud"},
                               headers=headers)  # fmt: skip
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == (
            "cancelled" if kind == "red_packet" else "reversed"
        )
        again = client.post(path.format(rewards[kind]["award_id"]), json={"reason": "x"},
                            headers=headers)  # fmt: skip
        assert_envelope(again, 409, "invalid_transition")
    db.session.expire_all()
    for campaign in (cash, points):
        fresh = db.session.get(Campaign, campaign.id)
        assert fresh is not None and fresh.spent == 0 and fresh.awards_count == 0
        assert remaining(campaign) == 1000
    assert all(t.awarded == 0 for t in db.session.query(PrizeTier))
    me = client.get("/api/v1/me", headers=bearer(shopper)).get_json()
    assert me["points_balance"] == 0 and me["red_packet_total_fen"] == 0
    other = bearer(make_brand())
    response = client.post(path.format(rewards["points"]["award_id"]), json={"reason": "x"},
                           headers=other)  # fmt: skip
    assert_envelope(response, 404, "unknown_award")


def test_a_paid_red_packet_cannot_be_cancelled(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from tests.test_app import assert_envelope
    from tests.workers import run_workers

    c = make_codes()
    make_campaign(c.owner)
    [reward] = scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])["rewards"]
    run_workers()
    response = client.post(f"/api/v1/awards/{reward['award_id']}/cancel", json={"reason": "x"},
                           headers=bearer(c.owner))  # fmt: skip
    assert_envelope(response, 409, "invalid_transition")


def test_stuck_payouts_are_redriven_and_paid_once(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from datetime import timedelta

    from accounts import service
    from campaigns.models import Payout
    from campaigns.payouts import jobs as payout_jobs
    from campaigns.payouts.jobs import pay_award, sweep_payouts
    from core.db import db, utcnow
    from tests.workers import run_workers

    c = make_codes()
    # Paid without waiting for the scan's fraud check: only the lost dispatch is tested here.
    service.update_brand(c.brand, service.BrandUpdate.of(settings={"fraud_hold_payouts": False}))
    make_campaign(c.owner)
    with monkeypatch.context() as patch:  # the job is lost between commit and Redis
        patch.setattr(payout_jobs, "kick", lambda: None)  # embedded: the inline drain
        patch.setattr(payout_jobs, "dispatch_claimed", lambda claimed: None)  # the queued one
        scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    run_workers()
    payout = db.session.query(Payout).one()
    db.session.refresh(payout)
    assert payout.status == "pending" and payout.attempts == 0
    assert sweep_payouts() == 0  # touched just now
    payout.updated_at = utcnow() - timedelta(minutes=5)
    db.commit()
    assert sweep_payouts() == 1
    run_workers()
    db.session.refresh(payout)
    assert payout.status == "paid" and payout.attempts == 1 and payout.award.status == "paid"
    assert pay_award(str(payout.id)) == "paid"  # a duplicate job changes nothing
    db.session.refresh(payout)
    assert payout.attempts == 1
