"""Payout rules: configuration, provider limits, held payouts, retries, tenancy, reconciliation,
the per-merchant rate."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.payouts.conftest import scan_as
from tests.payouts.test_v3_transfer import _payout, _spent
from tests.test_app import assert_envelope
from tests.workers import run_workers

V3, CASH, MINI = "wechat_v3_transfer", "wechat_v2_redpack", "wechat_v2_miniprogram_redpack"
#: What each provider needs set before a red packet campaign may run (files are not opened).
CASH_SETTINGS = {"pay_mch_id": "1900000109", "settings": {"redpack_appid": "wx2421b1c4370ec43b"},
                 "pay_api_key": "k" * 32, "pay_mch_cert_path": "/etc/pay/apiclient_cert.pem",
                 "pay_mch_key_path": "/etc/pay/apiclient_key.pem"}  # fmt: skip
V3_SETTINGS = {"pay_mch_id": "1900000109", "wechat_appid": "wxd678efh567hg6787",
               "pay_apiv3_key": "v" * 32, "pay_private_key_path": "/etc/pay/apiclient_key.pem",
               "pay_cert_serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
               "pay_public_key_path": "/etc/pay/pub_key.pem",
               "pay_public_key_id": "PUB_KEY_ID_0114232134912410000000000000"}  # fmt: skip


def test_real_workers_need_an_explicit_provider() -> None:
    from flask import Flask

    from campaigns.payouts.config import check_startup

    for value in (None, "", "paypal"):
        bare = Flask(__name__)
        bare.config.update(REDIS_URL="redis://127.0.0.1:6379/3", PAYOUT_PROVIDER=value)
        with pytest.raises(RuntimeError, match="PAYOUT_PROVIDER"):
            check_startup(bare)
    embedded = Flask(__name__)
    embedded.config.update(REDIS_URL=None, PAYOUT_PROVIDER=None)
    check_startup(embedded)
    assert embedded.config["PAYOUT_PROVIDER"] == "sandbox"


def test_brand_chooses_its_provider(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand()
    headers = bearer(owner)
    answer = client.patch("/api/v1/brand", json={"payout_provider": CASH}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["payout_provider"] == CASH
    assert_envelope(client.patch("/api/v1/brand", json={"payout_provider": "alipay"},
                                 headers=headers), 422, "validation_error")  # fmt: skip
    sneaky = client.patch("/api/v1/brand", json={"settings": {"payout_provider": "sandbox"}},
                          headers=headers)  # fmt: skip
    assert sneaky.get_json()["payout_provider"] == CASH  # only through the checked field
    app = client.application
    saved = app.config["REDIS_URL"], app.config["PAYOUT_PROVIDER"]
    app.config.update(REDIS_URL="redis://elsewhere", PAYOUT_PROVIDER=V3)
    try:
        refused = client.patch("/api/v1/brand", json={"payout_provider": "sandbox"},
                               headers=headers)  # fmt: skip
        assert_envelope(refused, 422, "payout_provider_not_allowed")
    finally:
        app.config["REDIS_URL"], app.config["PAYOUT_PROVIDER"] = saved
    cleared = client.patch("/api/v1/brand", json={"payout_provider": None}, headers=headers)
    assert cleared.get_json()["payout_provider"] is None


def test_activation_refuses_prizes_the_provider_cannot_pay(
    client: FlaskClient, make_brand: Any, make_campaign: Any, bearer: Any
) -> None:
    from core.db import db

    owner = make_brand(payout_provider=CASH)
    for prizes, ok in (([{"amount_fen": 88, "probability": 0.5}], False),
                       # (above 20,000 fen no campaign is valid at all: core money bounds)
                       ([{"min_amount_fen": 50, "max_amount_fen": 20_000,
                          "probability": 0.5}], False),
                       ([{"min_amount_fen": 100, "max_amount_fen": 20_000,
                          "probability": 0.5}], True)):  # fmt: skip
        campaign = make_campaign(owner, activate=False, prizes=prizes)
        answer = client.post(f"/api/v1/campaigns/{campaign.id}/activate", headers=bearer(owner))
        if ok:  # payable amounts, but nothing to pay them with yet
            body = assert_envelope(answer, 422, "payout_not_configured")
            assert list(body["errors"]) == ["pay_mch_id", "settings.redpack_appid", "pay_api_key",
                                            "pay_mch_cert_path", "pay_mch_key_path"]  # fmt: skip
            patched = client.patch("/api/v1/brand", headers=bearer(owner), json=CASH_SETTINGS)
            assert patched.status_code == 200, patched.get_json()
            db.session.refresh(owner.brand)  # the fixtures' copy (make_campaign uses it)
            answer = client.post(f"/api/v1/campaigns/{campaign.id}/activate",
                                 headers=bearer(owner))  # fmt: skip
            assert answer.status_code == 200
        else:
            body = assert_envelope(answer, 422, "prize_outside_provider_limits")
            assert "100" in body["message"] and "20000" in body["message"]
    v3 = make_brand(payout_provider=V3)
    small = make_campaign(v3, activate=False, prizes=[{"amount_fen": 9, "probability": 0.5}])
    answer = client.post(f"/api/v1/campaigns/{small.id}/activate", headers=bearer(v3))
    assert_envelope(answer, 422, "prize_outside_provider_limits")
    running = make_campaign(owner, prizes=[{"amount_fen": 100, "probability": 0.5}])
    edit = client.patch(f"/api/v1/campaigns/{running.id}", headers=bearer(owner),
                        json={"prizes": [{"amount_fen": 88, "probability": 0.5}]})  # fmt: skip
    assert_envelope(edit, 422, "prize_outside_provider_limits")  # a running campaign's new prizes
    tiers = client.get(f"/api/v1/campaigns/{running.id}", headers=bearer(owner)).get_json()
    assert [p["amount_fen"] for p in tiers["prizes"]] == [100]  # the refused edit left nothing


def test_a_provider_the_running_campaigns_prizes_exceed_is_refused(
    client: FlaskClient, make_brand: Any, make_campaign: Any, bearer: Any
) -> None:  # fmt: skip
    """Switching the brand to a provider that cannot pay a running campaign's prizes would fail
    every later win's payout: the switch is refused, and changes nothing."""
    owner = make_brand()  # sandbox: pays any amount
    headers = bearer(owner)
    running = make_campaign(owner, prizes=[{"amount_fen": 88, "probability": 0.5}])
    make_campaign(owner, activate=False, prizes=[{"amount_fen": 50, "probability": 0.5}])
    refused = client.patch("/api/v1/brand", json={"payout_provider": CASH, "name": "改名"},
                           headers=headers)  # fmt: skip
    body = assert_envelope(refused, 422, "prize_outside_provider_limits")
    assert running.name in body["message"] and "88-88" in body["message"]
    brand = client.get("/api/v1/brand", headers=headers).get_json()
    assert brand["payout_provider"] is None and brand["name"] != "改名"  # nothing changed
    unset = client.patch("/api/v1/brand", json={"payout_provider": V3}, headers=headers)
    body = assert_envelope(unset, 422, "payout_not_configured")  # 10 fen and up, but no merchant
    assert running.name in body["message"] and "pay_apiv3_key" in body["errors"]
    assert client.patch("/api/v1/brand", json={"payout_provider": V3, **V3_SETTINGS},
                        headers=headers).status_code == 200  # fmt: skip
    cleared = client.patch("/api/v1/brand", json={"pay_apiv3_key": None}, headers=headers)
    assert_envelope(cleared, 422, "payout_not_configured")  # a running campaign still needs it
    client.post(f"/api/v1/campaigns/{running.id}/end", headers=headers)
    ended = client.patch("/api/v1/brand", json={"payout_provider": CASH, **CASH_SETTINGS},
                         headers=headers)  # fmt: skip
    assert ended.status_code == 200  # no running campaign left to pay (the draft's 50 fen
    # prizes are checked when it is activated)


def _lost_job_win(client: FlaskClient, shop: Any, shopper: Any, bearer: Any,
                  monkeypatch: pytest.MonkeyPatch, n: int = 0) -> dict[str, Any]:  # fmt: skip
    from campaigns.payouts import jobs as payout_jobs

    with monkeypatch.context() as patch:
        patch.setattr(payout_jobs, "kick", lambda: None)  # embedded: the inline drain
        patch.setattr(payout_jobs, "dispatch_claimed", lambda claimed: None)  # the queued one
        [reward] = scan_as(client, bearer(shopper), shop.urls[n])["rewards"]
    return reward  # type: ignore[no-any-return]


def test_the_provider_is_fixed_when_the_payout_is_created_and_held_is_never_paid(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from accounts import service
    from campaigns.models import AwardStatus, PayoutStatus
    from campaigns.payouts.jobs import pay_award
    from core.db import db

    shop = make_shop(V3)
    first = _lost_job_win(client, shop, make_shopper(shop.brand), bearer, monkeypatch, 0)
    held = _lost_job_win(client, shop, make_shopper(shop.brand), bearer, monkeypatch, 1)
    service.update_brand(shop.brand, service.BrandUpdate.of(payout_provider="sandbox"))
    payout = _payout(held)
    payout.status, payout.award.status = PayoutStatus.held, AwardStatus.held
    db.commit()
    pay_award(first["award_id"])
    pay_award(held["award_id"])
    assert _payout(first).provider == V3 and _payout(first).status == "awaiting_user"
    assert _payout(held).status == "held" and _payout(held).attempts == 0
    assert len(fake_pay.requests_to("/v3/fund-app/mch-transfer/transfer-bills")) == 1


def test_a_misconfigured_provider_fails_the_payout_with_the_reason(
    client: FlaskClient,
    make_shop: Any,
    make_shopper: Any,
    fake_pay: Any,
    bearer: Any,
) -> None:
    shop = make_shop(V3, pay_private_key_path="/nonexistent/apiclient_key.pem")
    [reward] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[0])["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "failed" and _spent(shop.campaign) == 0
    assert payout.last_error == "provider_misconfigured: missing or unreadable private_key"
    assert fake_pay.requests == []


def test_retry_needs_a_failed_payout_its_budget_and_the_right_brand(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any,
    make_brand: Any, make_staff: Any,
) -> None:  # fmt: skip
    shop = make_shop(V3, budget=188)
    fake_pay.inject("transfer", "notenough")
    shopper = make_shopper(shop.brand)
    [reward] = scan_as(client, bearer(shopper), shop.urls[0])["rewards"]
    run_workers()
    payout_id = reward["award_id"]
    assert _payout(reward).status == "failed" and _spent(shop.campaign) == 0
    [other] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[1])["rewards"]
    run_workers()
    assert _spent(shop.campaign) == 188  # the returned money was won again
    path = f"/api/v1/payouts/{payout_id}/retry"
    assert_envelope(client.post(path, headers=bearer(shop.owner)), 409, "budget_exhausted")
    assert_envelope(client.post(f"/api/v1/payouts/{other['award_id']}/retry",
                                headers=bearer(shop.owner)), 409, "invalid_transition")  # fmt: skip
    stranger = make_brand()
    assert_envelope(client.post(path, headers=bearer(stranger)), 404, "unknown_payout")
    assert_envelope(client.get(f"/api/v1/payouts/{payout_id}", headers=bearer(stranger)),
                    404, "unknown_payout")  # fmt: skip
    assert_envelope(client.get("/api/v1/payouts/not-an-id", headers=bearer(shop.owner)),
                    404, "unknown_payout")  # fmt: skip
    assert_envelope(client.post(path, headers=bearer(make_staff(shop.brand, "marketer"))),
                    403, "role_forbidden")  # fmt: skip
    assert_envelope(client.post(path, headers=bearer(shopper)), 403, "wrong_token_kind")
    mine = client.get(f"/api/v1/me/awards/{other['award_id']}", headers=bearer(shopper))
    assert_envelope(mine, 404, "unknown_award")
    listed = client.get("/api/v1/payouts?status=failed", headers=bearer(shop.owner)).get_json()
    assert [p["id"] for p in listed] == [payout_id]
    assert listed[0]["last_error"].startswith("transfer: NOT_ENOUGH")


def test_reconciliation_adds_up_and_lists_mismatches(
    client: FlaskClient,
    app: Any,
    make_shop: Any,
    make_shopper: Any,
    fake_pay: Any,
    bearer: Any,
) -> None:
    from core.db import db

    shop = make_shop(V3, budget=1000)
    rewards = []
    for n in range(3):
        [r] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[n])["rewards"]
        rewards.append(r)
        run_workers()
    fake_pay.confirm(_payout(rewards[0]).out_trade_no)
    headers, body = fake_pay.v3_notification(_payout(rewards[0]).out_trade_no)
    assert client.post("/wechat/pay/notify/v3", data=body, headers=headers).status_code == 204
    cancelled = client.post(f"/api/v1/awards/{rewards[2]['award_id']}/cancel",
                            json={"reason": "x"}, headers=bearer(shop.owner))  # fmt: skip
    assert cancelled.status_code == 200
    path = f"/api/v1/campaigns/{shop.campaign.id}/reconciliation"
    report = client.get(path, headers=bearer(shop.owner)).get_json()
    assert report == {
        "campaign_id": str(shop.campaign.id), "budget_fen": 1000, "remaining_fen": 624,
        "awarded_fen": 376, "paid_fen": 188, "pending_fen": 0, "held_fen": 0,
        "awaiting_user_fen": 188, "failed_fen": 0, "cancelled_fen": 188,
        "provider_paid_fen": 188, "mismatches": [],
    }  # fmt: skip
    waiting = _payout(rewards[1])
    waiting.provider_status = "SUCCESS"  # WeChat says paid, we still wait: a mismatch
    db.commit()
    report = client.get(path, headers=bearer(shop.owner)).get_json()
    [mismatch] = report["mismatches"]
    assert mismatch["payout_id"] == str(waiting.id) and mismatch["status"] == "awaiting_user"
    lines = app.test_cli_runner().invoke(args=["payouts", "reconcile"]).output.splitlines()
    mine = [json.loads(x) for x in lines if json.loads(x)["campaign_id"] == str(shop.campaign.id)]
    assert mine == [report]


def test_a_peak_waits_for_the_merchant_rate_and_nothing_fails(
    client: FlaskClient, app: Any, make_shop: Any, make_shopper: Any, fake_pay: Any,
    bearer: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from campaigns.payouts import engine

    shop = make_shop(V3)
    rewards = [_lost_job_win(client, shop, make_shopper(shop.brand), bearer, monkeypatch, n)
               for n in range(6)]  # fmt: skip
    app.config["PAYOUT_RATE_PER_MERCHANT"] = 2
    started = time.monotonic()
    statuses = engine.drive([r["award_id"] for r in rewards])
    elapsed = time.monotonic() - started
    assert set(statuses.values()) == {"awaiting_user"} and len(statuses) == 6
    assert elapsed > 1.0  # 6 sends at 2 per second: three one-second windows
    sends = [r for r in fake_pay.requests_to("/v3/fund-app/mch-transfer/transfer-bills")]
    assert len(sends) == 6
