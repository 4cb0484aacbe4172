"""商家转账 (v3) against the fake WeChat Pay: confirmation, notifications, faults, expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from tests.payouts.conftest import MINIPROGRAM_APPID, scan_as
from tests.workers import run_workers

V3 = "wechat_v3_transfer"


def _win(client: FlaskClient, shop: Any, shopper: Any, bearer: Any, n: int = 0) -> dict[str, Any]:
    [reward] = scan_as(client, bearer(shopper), shop.urls[n])["rewards"]
    run_workers()
    return reward  # type: ignore[no-any-return]


def _payout(reward: dict[str, Any]) -> Any:
    from campaigns.models import Payout
    from core.db import db

    db.session.expire_all()
    payout = db.session.get(Payout, __import__("uuid").UUID(reward["award_id"]))
    assert payout is not None
    return payout


def _spent(campaign: Any) -> int:
    from campaigns.models import Campaign
    from core.db import db

    db.session.expire_all()
    fresh = db.session.get(Campaign, campaign.id)
    assert fresh is not None
    return int(fresh.spent)


def test_v3_bill_waits_for_the_shopper_then_a_notification_pays_it(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    shop = make_shop(V3)
    shopper = make_shopper(shop.brand)
    reward = _win(client, shop, shopper, bearer)
    payout = _payout(reward)
    assert payout.status == "awaiting_user" and payout.provider == V3 and payout.attempts == 1
    [call] = fake_pay.requests_to("/v3/fund-app/mch-transfer/transfer-bills")
    sent = call.json()
    assert sent["out_bill_no"] == payout.out_trade_no and sent["transfer_amount"] == 188
    assert sent["openid"] == "o0001user00001" and sent["appid"] == MINIPROGRAM_APPID
    assert sent["notify_url"] == "https://qr.example.test/wechat/pay/notify/v3"
    assert sent["transfer_scene_id"] == "1000" and len(sent["transfer_scene_report_infos"]) == 2
    mine = client.get(f"/api/v1/me/awards/{reward['award_id']}", headers=bearer(shopper))
    body = mine.get_json()
    assert mine.status_code == 200 and body["status"] == "awaiting_user"
    assert body["client_action"] == {
        "api": "wx.requestMerchantTransfer",
        "params": {"mchId": shop.mch_id, "appId": MINIPROGRAM_APPID,
                   "package": fake_pay.payments[payout.out_trade_no].package},
    }  # fmt: skip
    assert body["payout"]["status"] == "awaiting_user" and body["payout"]["expires_at"]
    fake_pay.confirm(payout.out_trade_no)
    headers, raw = fake_pay.v3_notification(payout.out_trade_no)
    for _ in range(100):  # WeChat repeats notifications; every answer is a success, once applied
        answer = client.post("/wechat/pay/notify/v3", data=raw, headers=headers)
        assert answer.status_code == 204
    payout = _payout(reward)
    assert payout.status == "paid" and payout.award.status == "paid" and payout.paid_at
    assert payout.provider_paid_fen == 188 and payout.client_action is None
    detail = client.get(f"/api/v1/payouts/{payout.id}", headers=bearer(shop.owner)).get_json()
    transitions = [(e["from"], e["to"]) for e in detail["events"] if e["kind"] == "transition"]
    assert transitions == [("pending", "processing"), ("processing", "awaiting_user"),
                           ("awaiting_user", "paid")]  # fmt: skip
    calls = [(e["call"], e["outcome"]) for e in detail["events"] if e["kind"] != "transition"]
    assert calls == [("send", "awaiting_user"), ("notification", "paid")]
    assert fake_pay.moved[payout.out_trade_no] == 1 and _spent(shop.campaign) == 188


def test_unknown_outcome_after_the_money_moved_is_resolved_with_the_same_number(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    from campaigns.payouts.jobs import pay_award

    shop = make_shop(V3)
    for n, fault in enumerate(("systemerror_after", "timeout_after", "drop_after", "http500")):
        fake_pay.inject("transfer", fault)
        reward = _win(client, shop, make_shopper(shop.brand), bearer, n)
        payout = _payout(reward)
        assert payout.status == "processing", fault  # unknown: not paid, not failed
        assert payout.last_error
        scheduled = _retries_scheduled()  # by the drain that sent it (None: embedded, inline)
        assert scheduled is None or str(payout.id) in scheduled, fault
        pay_award(str(payout.id))  # the retry: query the same number (re-send if not found)
        payout = _payout(reward)
        assert payout.status == "awaiting_user", fault
        assert fake_pay.moved[payout.out_trade_no] == 1, fault
        numbers = {r.json()["out_bill_no"] for r in
                   fake_pay.requests_to("/v3/fund-app/mch-transfer/transfer-bills")}  # fmt: skip
        assert payout.out_trade_no in numbers
    assert len(fake_pay.moved) == 4 and set(fake_pay.moved.values()) == {1}


def _retries_scheduled() -> set[str] | None:
    """Payout ids with a ``pay_award`` scheduled for later (None in embedded mode)."""
    from rq.registry import ScheduledJobRegistry

    from core.broker import current_broker, queue

    if current_broker().embedded:
        return None
    payouts = queue("payouts")
    jobs = [payouts.fetch_job(i) for i in ScheduledJobRegistry(queue=payouts).get_job_ids()]
    return {str(j.args[0]) for j in jobs if j is not None and j.func_name.endswith("pay_award")}


def test_definitive_refusal_fails_returns_the_money_and_an_operator_retry_pays(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    from tests.test_app import assert_envelope

    shop = make_shop(V3)
    fake_pay.inject("transfer", "notenough")
    reward = _win(client, shop, make_shopper(shop.brand), bearer)
    payout = _payout(reward)
    assert payout.status == "failed" and payout.award.status == "failed"
    assert "NOT_ENOUGH" in payout.last_error and _spent(shop.campaign) == 0
    first_number = payout.out_trade_no
    retried = client.post(f"/api/v1/payouts/{payout.id}/retry", headers=bearer(shop.owner))
    assert retried.status_code == 200, retried.get_json()
    run_workers()
    payout = _payout(reward)
    assert payout.status == "awaiting_user" and payout.out_trade_no != first_number
    assert payout.out_trade_no.startswith(first_number) and len(payout.out_trade_no) <= 28
    assert _spent(shop.campaign) == 188 and payout.attempts == 2
    again = client.post(f"/api/v1/payouts/{payout.id}/retry", headers=bearer(shop.owner))
    assert_envelope(again, 409, "invalid_transition")
    log = client.get("/api/v1/audit-log", query_string={"action": "payout.retry"},
                     headers=bearer(shop.owner)).get_json()  # fmt: skip
    [entry] = log  # the refused second retry changed nothing, so it left no entry
    assert (entry["target"], entry["staff_id"]) == (f"payout:{payout.id}", str(shop.owner.id))
    assert entry["changes"] == {"round": 1, "amount_fen": 188}


def test_unconfirmed_bills_are_cancelled_after_24_hours_and_the_money_returns(
    client: FlaskClient,
    make_shop: Any,
    make_shopper: Any,
    fake_pay: Any,
    bearer: Any,
) -> None:
    from campaigns.payouts.jobs import check_payouts, sweep_waiting
    from core.db import db, utcnow

    shop = make_shop(V3)
    reward = _win(client, shop, make_shopper(shop.brand), bearer)
    payout = _payout(reward)
    assert sweep_waiting() == {"expired": 0, "waiting": 0}
    payout.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    assert sweep_waiting()["expired"] == 1
    check_payouts([str(payout.id)], True)  # what the enqueued job does (real workers)
    run_workers()
    payout = _payout(reward)
    assert payout.status == "cancelled" and payout.award.status == "cancelled"
    assert fake_pay.payments[payout.out_trade_no].state == "CANCELLED"
    assert _spent(shop.campaign) == 0


def test_a_bill_confirmed_just_before_the_cancel_is_paid_not_cancelled(
    client: FlaskClient,
    make_shop: Any,
    make_shopper: Any,
    fake_pay: Any,
    bearer: Any,
) -> None:
    from campaigns.payouts.jobs import check_payouts

    shop = make_shop(V3)
    reward = _win(client, shop, make_shopper(shop.brand), bearer)
    payout = _payout(reward)
    fake_pay.confirm(payout.out_trade_no)
    check_payouts([str(payout.id)], True)
    payout = _payout(reward)
    assert payout.status == "paid" and _spent(shop.campaign) == 188
