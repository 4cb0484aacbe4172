"""The fraud check end to end: scans recorded, written behind, checked by the worker; held
red packets are never paid before a person releases them, and then exactly once."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.campaigns.conftest import scan_as
from tests.test_app import assert_envelope


def _payout(award_id: str) -> Any:
    from campaigns.models import Payout
    from core.db import db

    payout = db.session.scalar(select(Payout).where(Payout.award_id == uuid.UUID(award_id)))
    db.session.refresh(payout)
    return payout


def _strict_harvest(client: FlaskClient, owner: Any, bearer: Any, max_codes: int = 2) -> None:
    body = {"params": {"max_codes": max_codes}}
    response = client.patch("/api/v1/fraud/rules/batch_harvest", json=body, headers=bearer(owner))
    assert response.status_code == 200, response.get_json()


def _harvest(
    client: FlaskClient, shopper: dict[str, str], urls: list[str], settle: Any
) -> list[Any]:
    """Scan one code after another, each checked before the next (as a slow harvester would)."""
    rewards = []
    for url in urls:
        rewards.append(scan_as(client, shopper, url)["rewards"][0])
        settle()
    return rewards


def test_an_honest_winner_is_paid_after_the_check(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    settle: Any,
) -> None:  # fmt: skip
    c = make_codes()
    make_campaign(c.owner)
    [reward] = scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])["rewards"]
    settle()
    payout = _payout(reward["award_id"])
    assert (payout.status, payout.attempts, payout.cleared) == ("paid", 1, True)
    assert client.get("/api/v1/fraud/cases", headers=bearer(c.owner)).get_json() == []


def test_a_harvester_is_held_until_released_then_paid_once(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    settle: Any,
) -> None:  # fmt: skip
    from campaigns.jobs import pay_award
    from tests.workers import run_workers

    c = make_codes()
    make_campaign(c.owner)
    _strict_harvest(client, c.owner, bearer)
    shopper = bearer(make_consumer(c.brand))
    rewards = _harvest(client, shopper, c.urls[:4], settle)
    early, rewards = rewards[:2], rewards[2:]  # below the ceiling: paid; from the third: held
    assert [_payout(r["award_id"]).status for r in early] == ["paid", "paid"]
    payouts = [_payout(r["award_id"]) for r in rewards]
    assert {p.status for p in payouts} == {"held"} and {p.attempts for p in payouts} == {0}
    for p in payouts:  # a stray payment job (a redelivery, a sweep) pays nothing
        assert pay_award(str(p.id)) == "held"
    [case] = client.get("/api/v1/fraud/cases?status=open", headers=bearer(c.owner)).get_json()
    assert case["kind"] == "consumer" and case["band"] in ("review", "block")
    assert sorted(case["award_ids"]) == sorted(r["award_id"] for r in rewards)  # the held ones
    assert case["subject"].startswith("c_")  # pseudonymous
    detail = client.get(f"/api/v1/fraud/cases/{case['id']}", headers=bearer(c.owner)).get_json()
    [signal] = [s for s in detail["signals"] if s["rule"] == "batch_harvest"]
    assert signal["evidence"]["codes_in_window"] == 4
    assert len(detail["scans"]) == 4 and detail["consumers"] == [case["subject"]]
    assert {"at", "verdict", "serial", "device", "city"} <= set(detail["scans"][0])
    mine = client.get(f"/api/v1/me/awards/{rewards[0]['award_id']}", headers=shopper)
    if mine.status_code == 200:  # the shopper sees only that the reward is under review
        assert mine.get_json()["status"] == "held"

    response = client.post(f"/api/v1/fraud/cases/{case['id']}/resolve",
                           json={"decision": "release", "note": "regular buyer"},
                           headers=bearer(c.owner))  # fmt: skip
    assert response.status_code == 200 and response.get_json()["decision"] == "release"
    run_workers()
    run_workers()
    assert {(_payout(r["award_id"]).status, _payout(r["award_id"]).attempts) for r in rewards} == {
        ("paid", 1)
    }
    again = client.post(f"/api/v1/fraud/cases/{case['id']}/resolve",
                        json={"decision": "reject", "note": "changed my mind"},
                        headers=bearer(c.owner))  # fmt: skip
    assert_envelope(again, 409, "already_resolved")


def test_reject_returns_the_money_and_block_stops_further_rewards(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    settle: Any,
) -> None:  # fmt: skip
    from campaigns.models import Campaign
    from core.db import db

    c = make_codes()
    campaign = make_campaign(c.owner)
    _strict_harvest(client, c.owner, bearer)
    shopper = bearer(make_consumer(c.brand))
    _harvest(client, shopper, c.urls[:4], settle)
    [case] = client.get("/api/v1/fraud/cases", headers=bearer(c.owner)).get_json()
    body = {"decision": "block", "note": "ring"}
    path = f"/api/v1/fraud/cases/{case['id']}/resolve"
    response = client.post(path, json=body, headers=bearer(c.owner))
    assert response.status_code == 200
    db.session.refresh(campaign := db.session.get(Campaign, campaign.id))
    assert (campaign.spent, campaign.awards_count) == (2 * 88, 2)  # the two paid before the case
    [block] = client.get("/api/v1/blocks", headers=bearer(c.owner)).get_json()
    assert block["subject"] == case["subject"]
    [late] = scan_as(client, shopper, c.urls[5])["rewards"]
    settle()
    assert _payout(late["award_id"]).status == "cancelled"
    db.session.refresh(campaign)
    assert campaign.spent == 2 * 88
    lifted = client.delete(f"/api/v1/blocks/{block['id']}", headers=bearer(c.owner))
    assert lifted.status_code == 204
    path = f"/api/v1/campaigns/{campaign.id}/simulate"
    forecast = client.post(path, json={"scans_per_day": 10}, headers=bearer(c.owner)).get_json()
    fraud = forecast["fraud"]
    assert (fraud["held_rate"], fraud["rejected_rate"]) == (0.0, 0.6)  # 3 of 5 awards rejected
    assert fraud["expected_total_spend"] < forecast["expected_total_spend"]
    assert abs(fraud["expected_spend_per_day"] - 0.4 * forecast["expected_spend_per_day"]) < 0.5


def test_appeals_once_and_only_for_held_or_rejected(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    settle: Any,
) -> None:  # fmt: skip
    c = make_codes()
    make_campaign(c.owner)
    honest = bearer(make_consumer(c.brand))
    [paid] = scan_as(client, honest, c.urls[10])["rewards"]
    _strict_harvest(client, c.owner, bearer)
    shopper = bearer(make_consumer(c.brand))
    rewards = _harvest(client, shopper, c.urls[:4], settle)
    url = f"/api/v1/me/awards/{rewards[3]['award_id']}/appeal"
    first = client.post(url, json={"message": "I bought a case for my shop"}, headers=shopper)
    assert first.status_code == 201, first.get_json()
    assert_envelope(client.post(url, json={"message": "again"}, headers=shopper), 409,
                    "already_appealed")  # fmt: skip
    not_held = f"/api/v1/me/awards/{paid['award_id']}/appeal"
    assert_envelope(client.post(not_held, json={"message": "x"}, headers=honest), 409,
                    "not_appealable")  # fmt: skip
    assert_envelope(client.post(url, json={"message": "x"}, headers=honest), 404, "unknown_award")
    [case] = client.get("/api/v1/fraud/cases", headers=bearer(c.owner)).get_json()
    detail = client.get(f"/api/v1/fraud/cases/{case['id']}", headers=bearer(c.owner)).get_json()
    assert detail["appeal"]["message"] == "I bought a case for my shop"


def test_resolve_refusals_change_nothing(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_brand: Any, make_staff: Any, settle: Any,
) -> None:  # fmt: skip
    from core.db import db
    from fraud.models import FraudDecision

    c = make_codes()
    make_campaign(c.owner)
    _strict_harvest(client, c.owner, bearer)
    shopper = bearer(make_consumer(c.brand))
    _harvest(client, shopper, c.urls[:4], settle)
    [case] = client.get("/api/v1/fraud/cases", headers=bearer(c.owner)).get_json()
    path = f"/api/v1/fraud/cases/{case['id']}/resolve"
    body = {"decision": "release", "note": "ok"}
    other = make_brand()
    assert_envelope(client.post(path, json=body, headers=bearer(other)), 404, "unknown_case")
    for role in ("analyst", "marketer"):
        staff = make_staff(c.brand, role)
        assert_envelope(client.post(path, json=body, headers=bearer(staff)), 403, "role_forbidden")
    bad = client.post(path, json={"decision": "forgive", "note": "x"}, headers=bearer(c.owner))
    assert_envelope(bad, 422, "validation_error")
    assert_envelope(client.post(path, json=body, headers=shopper), 403, "wrong_token_kind")
    assert db.session.scalar(select(func.count()).select_from(FraudDecision)) == 0
    detail = client.get(f"/api/v1/fraud/cases/{case['id']}", headers=bearer(c.owner)).get_json()
    assert detail["status"] == "open"
    operator = make_staff(c.brand, "operator")
    assert client.post(path, json=body, headers=bearer(operator)).status_code == 200


def test_rules_are_tuned_by_the_owner_only(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    owner = make_brand()
    rules = client.get("/api/v1/fraud/rules", headers=bearer(owner)).get_json()
    expected = {"scan_velocity", "batch_harvest", "forged_burst", "suspect_cluster", "cash_only",
                "impossible_travel", "shared_device", "many_devices", "out_of_market"}  # fmt: skip
    assert {r["key"] for r in rules} == expected
    operator = make_staff(owner.brand, "operator")
    path = "/api/v1/fraud/rules/cash_only"
    assert_envelope(client.patch(path, json={"enabled": False}, headers=bearer(operator)), 403,
                    "role_forbidden")  # fmt: skip
    assert_envelope(client.patch(path, json={"params": {"nope": 1}}, headers=bearer(owner)), 422,
                    "invalid_rule_params")  # fmt: skip
    assert_envelope(client.patch("/api/v1/fraud/rules/nope", json={}, headers=bearer(owner)), 404,
                    "unknown_rule")  # fmt: skip
    changed = client.patch(path, json={"enabled": False, "weight": 10}, headers=bearer(owner))
    assert changed.get_json()["enabled"] is False and changed.get_json()["weight"] == 10


def test_a_check_that_could_not_run_is_redriven_by_the_sweep(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    settle: Any, monkeypatch: Any,
) -> None:  # fmt: skip
    """The fraud worker was down (no check sent): the red packet waits, unpaid, until the sweep
    sends its check; then it is paid once."""
    from datetime import timedelta

    from anticounterfeit.scans import writebehind
    from campaigns.jobs import sweep_payouts
    from core.db import db, utcnow
    from fraud.jobs import sweep_unchecked

    c = make_codes()
    make_campaign(c.owner)
    with monkeypatch.context() as patched:
        patched.delitem(writebehind._listeners, "fraud")  # the checks are never sent
        [reward] = scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])["rewards"]
        settle()
    payout = _payout(reward["award_id"])
    assert (payout.status, payout.cleared, payout.attempts) == ("pending", False, 0)
    payout.updated_at = utcnow() - timedelta(minutes=5)
    db.commit()
    assert sweep_payouts() == 0  # the payout sweep leaves it to the fraud check
    assert sweep_unchecked() == 0  # too recent to call it lost
    payout.created_at = utcnow() - timedelta(minutes=5)
    db.commit()
    assert sweep_unchecked() == 1
    settle()
    payout = _payout(reward["award_id"])
    assert (payout.status, payout.cleared, payout.attempts) == ("paid", True, 1)


def test_marketers_do_not_read_fraud_review(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    owner = make_brand()
    marketer = bearer(make_staff(owner.brand, "marketer"))
    for path in ("/api/v1/fraud/cases", "/api/v1/blocks"):
        assert_envelope(client.get(path, headers=marketer), 403, "role_forbidden")
    analyst = bearer(make_staff(owner.brand, "analyst"))
    assert client.get("/api/v1/fraud/cases", headers=analyst).status_code == 200


def test_two_findings_at_once_share_one_open_case(make_brand: Any) -> None:
    """A concurrent finding that opened the subject's case first: the second adds to it."""
    from core.db import db
    from fraud import cases
    from fraud.models import CaseKind, CaseStatus, FraudCase

    brand = make_brand().brand
    first = FraudCase(brand_id=brand.id, kind=CaseKind.diversion, subject="dealer-1:ship-1",
                      score=100, band="review", signals=[{"rule": "diversion"}],
                      status=CaseStatus.open)  # fmt: skip
    real_lookup = cases.open_case_for
    calls = []

    def racing(*args: Any) -> Any:  # the other request commits its case between our look-ups
        calls.append(args)
        if len(calls) == 1:
            db.session.add(first)
            db.session.flush()
            return None
        return real_lookup(*args)

    cases.open_case_for = racing
    try:
        case = cases.open_external(brand.id, "diversion", "dealer-1:ship-1",
                                   [{"rule": "diversion", "score": 100}])  # fmt: skip
    finally:
        cases.open_case_for = real_lookup
    assert case.id == first.id and len(case.signals) == 2
