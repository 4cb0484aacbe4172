"""Scans that draw prizes: rewards in the response, once per code, targeting, limits, budgets."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.campaigns.conftest import scan_as
from tests.workers import run_workers

SHANGHAI = {"lat": 31.2304, "lng": 121.4737, "accuracy_m": 30}
BEIJING = {"lat": 39.9042, "lng": 116.4074, "accuracy_m": 30}


def _rows(model: Any) -> list[Any]:
    from core.db import db

    return list(db.session.scalars(select(model)))


def test_authentic_scan_wins_a_red_packet_paid_by_the_sandbox(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    flush_scans: Any,
) -> None:  # fmt: skip
    from campaigns.models import Award, Draw, Payout
    from core.db import db

    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    body = scan_as(client, bearer(shopper), c.urls[0])
    assert body["verdict"] == "authentic"
    [reward] = body["rewards"]
    assert reward == {
        "award_id": reward["award_id"], "campaign_id": str(campaign.id), "kind": "red_packet",
        "amount_fen": 88, "status": "pending", "client_action": None,
        "payout": {"id": reward["award_id"], "provider": "sandbox", "status": "pending",
                   "out_trade_no": reward["payout"]["out_trade_no"], "attempts": 0,
                   "last_error": None, "paid_at": None, "expires_at": None},
    }  # fmt: skip
    [draw], [award], [payout] = _rows(Draw), _rows(Award), _rows(Payout)
    assert draw.outcome == "won" and 0 <= draw.random_ppm < 1_000_000 and draw.campaign_version == 1
    assert str(award.id) == reward["award_id"] and award.draw_id == draw.id
    run_workers()  # embedded mode ran the payout job right after the commit
    db.session.refresh(payout)
    db.session.refresh(award)
    assert payout.status == "paid" and award.status == "paid" and payout.attempts == 1
    assert len(payout.out_trade_no) <= 28 and payout.out_trade_no.isalnum()
    db.session.refresh(campaign)
    assert campaign.spent == 88 and campaign.awards_count == 1
    flush_scans()  # scan events reach PostgreSQL behind the response
    me = client.get("/api/v1/me", headers=bearer(shopper)).get_json()
    assert me == {"id": str(shopper.id), "points_balance": 0, "scan_count": 1,
                  "red_packet_total_fen": 88}  # fmt: skip
    [mine] = client.get("/api/v1/me/awards", headers=bearer(shopper)).get_json()
    assert mine["award_id"] == reward["award_id"] and mine["status"] == "paid"
    assert mine["created_at"].endswith("+00:00")


def test_points_campaign_credits_at_once(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    campaign = make_campaign(c.owner, "points", points_valid_days=30)
    shopper = make_consumer(c.brand)
    [reward] = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    assert reward == {"award_id": reward["award_id"], "campaign_id": str(campaign.id),
                      "kind": "points", "points": 88, "status": "credited"}  # fmt: skip
    assert client.get("/api/v1/me", headers=bearer(shopper)).get_json()["points_balance"] == 88
    [entry] = client.get("/api/v1/me/points", headers=bearer(shopper)).get_json()
    assert entry["kind"] == "credit" and entry["points"] == 88
    assert entry["award_id"] == reward["award_id"] and entry["campaign_id"] == str(campaign.id)
    assert entry["reason"] == "campaign_award" and entry["expires_at"]


def test_every_targeting_campaign_draws_once_per_code(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from campaigns.models import Draw

    c = make_codes()
    make_campaign(c.owner)
    make_campaign(c.owner, "points")
    shopper, other = make_consumer(c.brand), make_consumer(c.brand)
    rewards = scan_as(client, bearer(shopper), c.urls[0])["rewards"]
    assert sorted(r["kind"] for r in rewards) == ["points", "red_packet"]
    again = scan_as(client, bearer(shopper), c.urls[0])
    assert again["verdict"] == "authentic_repeat" and again["rewards"] == []
    copy = scan_as(client, bearer(other), c.urls[0])
    assert copy["verdict"] == "suspect_copy" and copy["rewards"] == []
    assert len(_rows(Draw)) == 2


def test_no_rewards_for_anonymous_or_bad_verdicts(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    inactive = make_codes(owner=c.owner, active=False, gtin="06901234567915")
    make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    assert scan_as(client, {}, c.urls[0])["rewards"] == []
    assert scan_as(client, bearer(shopper), inactive.urls[0])["verdict"] == "not_activated"
    assert scan_as(client, bearer(shopper), inactive.urls[0])["rewards"] == []
    forged = c.urls[1][:-4] + ("AAAA" if not c.urls[1].endswith("AAAA") else "BBBB")
    assert scan_as(client, bearer(shopper), forged)["rewards"] == []


def test_camera_check_then_mini_program_claim_wins(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    first = scan_as(client, {}, c.urls[0], location=SHANGHAI)
    assert first["verdict"] == "authentic" and first["rewards"] == []
    claim = scan_as(client, bearer(shopper), c.urls[0], location=SHANGHAI)
    assert claim["verdict"] == "authentic_repeat" and len(claim["rewards"]) == 1


def test_targeting_by_product_batch_region_and_new_consumers(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    elsewhere = make_codes(owner=c.owner, gtin="06901234567908")
    shanghai = make_campaign(c.owner, targeting={"regions": ["上海市"]})
    batch_only = make_campaign(c.owner, "points", targeting={"code_batch_ids": [str(c.batch.id)]})
    newcomers = make_campaign(c.owner, "points", targeting={"new_consumers_only": True})
    shopper = make_consumer(c.brand)

    def won(url: str, **body: Any) -> set[str]:
        return {r["campaign_id"] for r in scan_as(client, bearer(shopper), url, **body)["rewards"]}

    assert won(c.urls[0], location=SHANGHAI) == {str(shanghai.id), str(batch_only.id),
                                                 str(newcomers.id)}  # fmt: skip
    assert won(c.urls[1], location=BEIJING) == {str(batch_only.id)}
    assert won(c.urls[2]) == {str(batch_only.id)}  # no location: no region
    assert won(elsewhere.urls[0], location=SHANGHAI) == {str(shanghai.id)}


def test_limits_per_consumer_per_day_and_total(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from campaigns.models import Draw

    c = make_codes()
    make_campaign(c.owner, limits={"per_consumer_per_day": 2, "per_consumer_total": 3})
    shopper, other = make_consumer(c.brand), make_consumer(c.brand)
    wins = [len(scan_as(client, bearer(shopper), url)["rewards"]) for url in c.urls[:4]]
    assert wins == [1, 1, 0, 0]
    assert [d.outcome for d in _rows(Draw)].count("limit_reached") == 2
    assert len(scan_as(client, bearer(other), c.urls[5])["rewards"]) == 1


def test_tier_quantity_and_budget_exhaustion(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from campaigns.models import Draw
    from core.db import db

    c = make_codes()
    quantity = make_campaign(c.owner, prizes=[{"amount_fen": 10, "probability": 1, "quantity": 2}])
    small = make_campaign(c.owner, budget_fen=250, prizes=[{"amount_fen": 100, "probability": 1}])
    shopper = make_consumer(c.brand)
    won = [len(scan_as(client, bearer(shopper), url)["rewards"]) for url in c.urls[:4]]
    assert won == [2, 2, 0, 0]
    outcomes = {(d.campaign_id, d.outcome) for d in _rows(Draw)}
    assert (quantity.id, "tier_exhausted") in outcomes and (
        small.id,
        "budget_exhausted",
    ) in outcomes
    db.session.refresh(small)
    assert small.spent == 200 and small.remaining == 50


def test_paused_and_future_campaigns_do_not_draw(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    from datetime import timedelta

    from campaigns import service
    from core.db import utcnow

    c = make_codes()
    paused = make_campaign(c.owner)
    service.transition(c.brand, str(paused.id), "pause")
    later = utcnow() + timedelta(days=2)
    make_campaign(c.owner, starts_at=later.isoformat(),
                  ends_at=(later + timedelta(days=1)).isoformat())  # fmt: skip
    make_campaign(c.owner, activate=False)
    shopper = make_consumer(c.brand)
    assert scan_as(client, bearer(shopper), c.urls[0])["rewards"] == []


def test_staff_see_awards_and_draws(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_brand: Any,
) -> None:  # fmt: skip
    c = make_codes()
    campaign = make_campaign(c.owner, prizes=[{"amount_fen": 88, "probability": 0.5}])
    shopper = make_consumer(c.brand)
    for url in c.urls[:10]:
        scan_as(client, bearer(shopper), url)
    run_workers()
    awards = client.get(f"/api/v1/awards?campaign_id={campaign.id}", headers=bearer(c.owner))
    draws = client.get(f"/api/v1/campaigns/{campaign.id}/draws", headers=bearer(c.owner))
    assert awards.status_code == 200 and draws.status_code == 200
    listed, drawn = awards.get_json(), draws.get_json()
    assert len(drawn) == 10
    assert len(listed) == sum(d["outcome"] == "won" for d in drawn)
    for award in listed:
        assert award["amount_fen"] == 88 and award["payout"]["status"] == "paid"
    for draw in drawn:
        assert (draw["outcome"] == "won") == (draw["random_ppm"] < 500_000)
    paid = client.get("/api/v1/awards?status=paid", headers=bearer(c.owner)).get_json()
    assert len(paid) == len(listed)
    other = make_brand()
    response = client.get(f"/api/v1/awards?campaign_id={campaign.id}", headers=bearer(other))
    assert response.status_code == 404
    assert client.get("/api/v1/awards", headers=bearer(other)).get_json() == []


def test_me_requires_a_consumer_token(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    from tests.test_app import assert_envelope

    assert_envelope(client.get("/api/v1/me"), 401, "unauthenticated")
    assert_envelope(client.get("/api/v1/me", headers=bearer(make_brand())), 403, "wrong_token_kind")


def test_limits_added_to_a_live_campaign_count_earlier_wins(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper = make_consumer(c.brand)
    assert [len(scan_as(client, bearer(shopper), u)["rewards"]) for u in c.urls[:2]] == [1, 1]
    limits = {"limits": {"per_consumer_total": 2}}
    path = f"/api/v1/campaigns/{campaign.id}"
    response = client.patch(path, json=limits, headers=bearer(c.owner))
    assert response.status_code == 200 and response.get_json()["version"] == 2
    assert scan_as(client, bearer(shopper), c.urls[2])["rewards"] == []


def test_a_repeated_first_scan_draws_nothing_more(
    make_codes: Any, make_consumer: Any, make_campaign: Any
) -> None:
    """If Redis lost a code's state, its first logged-in scan can come again: no second draw."""
    from uuid import uuid4

    from campaigns.models import Award, Draw
    from campaigns.rewards import ScanFacts, draw_for_scan
    from core.db import utcnow

    c = make_codes()
    make_campaign(c.owner, prizes=[{"amount_fen": 88, "probability": 0.5}])
    make_campaign(c.owner, "points", prizes=[{"points": 5, "probability": 1.0}])
    shopper = make_consumer(c.brand)
    serial = c.rows[0][0]

    def facts() -> ScanFacts:
        return ScanFacts(
            brand_id=c.brand.id, scan_id=uuid4(), consumer_id=shopper.id,
            code_key_id=c.batch.code_key_id, serial=serial, product_id=c.batch.product_id,
            code_batch_id=c.batch.id, province=None, city=None, at=utcnow(),
        )  # fmt: skip

    first = draw_for_scan(facts())
    from core.broker import redis_client

    redis_client().flushdb()  # the lost Redis state, code claims included
    for _ in range(5):
        assert draw_for_scan(facts()) == []
    assert len(_rows(Draw)) == 2 and len(_rows(Award)) == len(first) >= 1


def test_cached_campaigns_follow_every_change(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    """Draws use a per-process copy of the active campaigns; any change is seen at once."""
    c = make_codes()
    campaign = make_campaign(c.owner)
    shopper, path = make_consumer(c.brand), f"/api/v1/campaigns/{campaign.id}"
    headers = bearer(c.owner)

    def won(url: str) -> list[Any]:
        return [r.get("amount_fen") for r in scan_as(client, bearer(shopper), url)["rewards"]]

    assert won(c.urls[0]) == [88]
    assert client.post(f"{path}/pause", headers=headers).status_code == 200
    assert won(c.urls[1]) == []
    assert client.post(f"{path}/activate", headers=headers).status_code == 200
    assert won(c.urls[2]) == [88]
    patch = {"prizes": [{"amount_fen": 66, "probability": 1.0}]}
    assert client.patch(path, json=patch, headers=headers).status_code == 200
    assert won(c.urls[3]) == [66]
    make_campaign(c.owner, prizes=[{"amount_fen": 10, "probability": 1.0}])
    assert sorted(won(c.urls[4])) == [10, 66]


def test_cached_payout_terms_follow_the_brand_settings(
    make_codes: Any, make_consumer: Any, make_campaign: Any
) -> None:
    """The campaign snapshots carry the brand's fraud hold: a settings change is seen at once."""
    from uuid import uuid4

    from accounts import service
    from campaigns.models import Payout
    from campaigns.rewards import ScanFacts, draw_for_scan
    from core.db import db, utcnow

    c = make_codes()
    make_campaign(c.owner)
    shopper = make_consumer(c.brand)

    def cleared(serial: int, hold: bool) -> bool:
        service.update_brand(c.brand, service.BrandUpdate.of(settings={"fraud_hold_payouts": hold}))
        [won] = draw_for_scan(ScanFacts(
            brand_id=c.brand.id, scan_id=uuid4(), consumer_id=shopper.id,
            code_key_id=c.batch.code_key_id, serial=serial, product_id=c.batch.product_id,
            code_batch_id=c.batch.id, province=None, city=None, at=utcnow(),
        ))  # fmt: skip
        payout = db.session.get(Payout, won.award_id)
        assert payout is not None
        return payout.cleared

    serials = [row[0] for row in c.rows[:3]]
    assert cleared(serials[0], hold=True) is False
    assert cleared(serials[1], hold=False) is True
    assert cleared(serials[2], hold=True) is False
