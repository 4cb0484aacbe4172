"""Events become outbox rows in the transaction that causes them, once per occurrence."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.campaigns.conftest import scan_as


def _deliveries(event: str | None = None) -> list[Any]:
    from core.db import db
    from exports.webhooks.models import WebhookDelivery

    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at)
    if event:
        query = query.where(WebhookDelivery.event == event)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


ALL = ["scan.suspect_copy", "scan.counterfeit", "award.paid", "payout.failed",
       "fraud.case_opened", "fraud.case_resolved", "campaign.budget_low"]  # fmt: skip


def test_a_copied_code_is_announced_once_by_the_flusher(
    client: FlaskClient, make_codes: Any, make_hook: Any, receiver: Any, flush_scans: Any
) -> None:
    from anticounterfeit.scans.bulkwrite import StoredEvent
    from exports.webhooks import sources

    c = make_codes()
    make_hook(c.owner, receiver.url, ALL)
    other = make_codes()  # another brand's webhook for the same event hears nothing
    make_hook(other.owner, receiver.url, ALL)
    suspects = []
    for device in ("phone-a", "phone-b", "phone-c"):
        answer = client.post("/api/v1/scans", json={"code": c.urls[0], "device_id": device})
        if answer.get_json()["verdict"] == "suspect_copy":
            suspects.append(answer.get_json()["scan_id"])
    assert suspects
    flush_scans()
    found = _deliveries("scan.suspect_copy")
    assert {d.brand_id for d in found} == {c.brand.id}
    assert sorted(json.loads(d.body)["data"]["scan_id"] for d in found) == sorted(suspects)
    data = json.loads(found[0].body)["data"]
    assert data["verdict"] == "suspect_copy" and "serial" in data and "ip" not in data
    events = [StoredEvent({"id": json.loads(d.body)["data"]["scan_id"], "brand": str(c.brand.id),
                           "verdict": "suspect_copy"}) for d in found]  # fmt: skip
    sources.scans_flushed(events)  # the same scans flushed again (a crashed flusher's retry)
    assert len(_deliveries("scan.suspect_copy")) == len(found)


def test_forged_codes_of_a_brand_are_announced_once(
    client: FlaskClient, make_codes: Any, make_hook: Any, receiver: Any
) -> None:
    from exports.webhooks import sources

    c = make_codes()
    make_hook(c.owner, receiver.url, ["scan.counterfeit"])
    genuine = c.rows[0][1]
    forged = genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")  # same key id, bad MAC
    answer = client.post("/api/v1/scans", json={"code": forged})
    assert answer.get_json()["verdict"] == "counterfeit"
    client.post("/api/v1/scans", json={"code": "NOT-A-CODE-OF-ANYONE"})
    assert sources.sweep_counterfeits() == 2
    (delivery,) = _deliveries("scan.counterfeit")
    assert json.loads(delivery.body)["data"]["code"] == forged
    sources.sweep_counterfeits()
    assert len(_deliveries("scan.counterfeit")) == 1


def test_payouts_paid_and_failed_are_announced(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_hook: Any, receiver: Any, monkeypatch: Any,
) -> None:  # fmt: skip
    from accounts import service
    from campaigns.models import Award, Payout, PayoutStatus
    from campaigns.payouts import jobs as payout_jobs
    from campaigns.payouts import states
    from core.db import db
    from tests.workers import run_workers

    c = make_codes()
    service.update_brand(c.brand, service.BrandUpdate.of(settings={"fraud_hold_payouts": False}))
    make_hook(c.owner, receiver.url, ["award.paid", "payout.failed"])
    make_campaign(c.owner)
    [reward] = scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])["rewards"]
    run_workers()
    (paid,) = _deliveries("award.paid")
    data = json.loads(paid.body)["data"]
    assert (data["award_id"], data["amount_fen"]) == (reward["award_id"], 88)
    with monkeypatch.context() as patch:  # not paid: the provider's refusal is played here
        patch.setattr(payout_jobs, "kick", lambda: None)
        patch.setattr(payout_jobs, "dispatch_claimed", lambda claimed: None)
        [reward] = scan_as(client, bearer(make_consumer(c.brand)), c.urls[1])["rewards"]
    award = db.session.get(Award, uuid.UUID(reward["award_id"]))
    payout = db.session.scalar(select(Payout).where(Payout.award_id == award.id))
    assert payout.status is PayoutStatus.pending
    states.lock_for_release(award.id)
    states.move(payout, award, PayoutStatus.failed, "provider refused: NO_AUTH")
    db.session.flush()
    (failed,) = _deliveries("payout.failed")
    assert json.loads(failed.body)["data"]["reason"] == "provider refused: NO_AUTH"
    assert len(_deliveries("award.paid")) == 1


def test_fraud_cases_opened_once_and_resolved(
    make_brand: Any, make_hook: Any, receiver: Any
) -> None:
    from fraud import cases
    from fraud.models import Decision

    owner = make_brand()
    make_hook(owner, receiver.url, ["fraud.case_opened", "fraud.case_resolved"])
    case = cases.open_external(owner.brand.id, "device", "dev-1", [{"rule": "x", "score": 1}])
    again = cases.open_external(owner.brand.id, "device", "dev-1", [{"rule": "y", "score": 2}])
    assert again.id == case.id
    (opened,) = _deliveries("fraud.case_opened")
    assert json.loads(opened.body)["data"]["case_id"] == str(case.id)
    cases.resolve(owner.brand, owner, str(case.id), Decision.release, "fine")
    (resolved,) = _deliveries("fraud.case_resolved")
    assert json.loads(resolved.body)["data"]["decision"] == "release"


def test_a_low_budget_is_announced_once_per_budget(
    make_brand: Any, make_campaign: Any, make_hook: Any, receiver: Any
) -> None:
    from core.db import db
    from exports.webhooks import sources

    owner = make_brand()
    make_hook(owner, receiver.url, ["campaign.budget_low"])
    campaign = make_campaign(owner, budget_fen=1000)
    assert sources.sweep_budget_low() == 0
    campaign.spent = 790
    db.session.flush()
    assert sources.sweep_budget_low() == 0
    campaign.spent = 800
    db.session.flush()
    assert sources.sweep_budget_low() == 1 and sources.sweep_budget_low() == 1
    (low,) = _deliveries("campaign.budget_low")
    assert json.loads(low.body)["data"]["remaining_fen"] == 200
    campaign.budget = 2000  # topped up, then low again: a new occurrence
    campaign.spent = 1900
    db.session.flush()
    sources.sweep_budget_low()
    assert len(_deliveries("campaign.budget_low")) == 2


def test_an_unsubscribed_event_queues_nothing(make_brand: Any, make_hook: Any,
                                              receiver: Any) -> None:  # fmt: skip
    from fraud import cases

    owner = make_brand()
    make_hook(owner, receiver.url, ["award.paid"])
    cases.open_external(owner.brand.id, "device", "dev-2", [])
    assert _deliveries() == []
