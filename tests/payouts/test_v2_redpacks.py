"""v2 red packets (mini-program and cash) against the fake WeChat Pay over TLS."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote

from flask.testing import FlaskClient

from tests.payouts.conftest import API_KEY, MINIPROGRAM_APPID, OA_APPID, scan_as
from tests.payouts.test_v3_transfer import _payout, _spent
from tests.workers import run_workers

MINI, CASH = "wechat_v2_miniprogram_redpack", "wechat_v2_redpack"
SEND_MINI, SEND_CASH = "/mmpaymkttransfers/sendminiprogramhb", "/mmpaymkttransfers/sendredpack"


def test_mini_program_red_packet_from_a_camera_scan_is_claimed_then_paid(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    from campaigns.payouts.jobs import check_payouts

    shop = make_shop(MINI)
    shopper = make_shopper(shop.brand)
    [reward] = scan_as(client, bearer(shopper), shop.urls[0], scene=1011)["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "awaiting_user" and payout.scene == 1011
    [sent] = fake_pay.requests_to(SEND_MINI)
    assert sent.headers["x-fake-client-cert-cn"] == shop.mch_id  # the client certificate
    action = client.get(f"/api/v1/me/awards/{reward['award_id']}",
                        headers=bearer(shopper)).get_json()["client_action"]  # fmt: skip
    assert action["api"] == "wx.sendBizRedPacket"
    p = action["params"]
    expected = hashlib.md5(
        f"appId={MINIPROGRAM_APPID}&nonceStr={p['nonceStr']}&package={p['package']}"
        f"&timeStamp={p['timeStamp']}&key={API_KEY}".encode()
    ).hexdigest().upper()  # fmt: skip
    assert p["signType"] == "MD5" and p["paySign"] == expected
    assert unquote(p["package"]).startswith("sendid=")
    fake_pay.receive(payout.out_trade_no)
    check_payouts([str(payout.id)])
    payout = _payout(reward)
    assert payout.status == "paid" and payout.provider_status == "RECEIVED"
    assert fake_pay.moved[payout.out_trade_no] == 1 and _spent(shop.campaign) == 188


def test_mini_program_red_packet_needs_a_camera_scan_scene(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    shop = make_shop(MINI)
    [reward] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[0])["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "failed" and payout.last_error.startswith("scene_not_camera_scan")
    assert fake_pay.requests_to(SEND_MINI) == [] and _spent(shop.campaign) == 0


def test_cash_red_packet_goes_to_the_official_account_openid_and_expires_unopened(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    from campaigns.payouts.jobs import check_payouts

    shop = make_shop(CASH, amount=100)
    [reward] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[0])["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "awaiting_user" and payout.client_action is None
    [sent] = fake_pay.requests_to(SEND_CASH)
    assert b"<wxappid>" in sent.body and OA_APPID.encode() in sent.body
    assert payout.out_trade_no.encode() in sent.body  # our number, never wechatpy's
    fake_pay.refund(payout.out_trade_no)  # nobody opened it in 24 h
    check_payouts([str(payout.id)], True)
    payout = _payout(reward)
    assert payout.status == "failed" and payout.last_error == "expired"
    assert _spent(shop.campaign) == 0


def test_v2_systemerror_after_sending_is_resolved_by_query_never_a_second_packet(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    from campaigns.payouts.jobs import pay_award

    shop = make_shop(CASH)
    for n, fault in enumerate(("systemerror_after", "timeout_after", "http500", "systemerror")):
        fake_pay.inject("sendredpack", fault)
        [reward] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[n])["rewards"]
        run_workers()
        assert _payout(reward).status == "processing", fault
        pay_award(reward["award_id"])
        payout = _payout(reward)
        assert payout.status == "awaiting_user", fault
        assert fake_pay.moved[payout.out_trade_no] == 1, fault
    assert len(fake_pay.moved) == 4


def test_v2_definitive_refusals_fail_with_the_reason(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    shop = make_shop(CASH)
    fake_pay.inject("sendredpack", "notenough")
    [reward] = scan_as(client, bearer(make_shopper(shop.brand)), shop.urls[0])["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "failed" and "NOTENOUGH" in payout.last_error
    assert _spent(shop.campaign) == 0 and fake_pay.moved == {}
