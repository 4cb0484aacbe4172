"""WeChat Pay notifications: forged, replayed, stale, malformed, unknown, mismatched."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from flask.testing import FlaskClient

from tests.fakewechat import paycommon as pc
from tests.payouts.conftest import APIV3_KEY, scan_as
from tests.payouts.test_v3_transfer import _payout
from tests.workers import run_workers

V3, CASH = "wechat_v3_transfer", "wechat_v2_redpack"


def _events(payout: Any) -> int:
    from sqlalchemy import func, select

    from campaigns.models import PayoutEvent
    from core.db import db

    return int(db.session.scalar(
        select(func.count()).where(PayoutEvent.payout_id == payout.id)
    ) or 0)  # fmt: skip


def _waiting(client: FlaskClient, make_shop: Any, make_shopper: Any, bearer: Any,
             provider: str, **shop: Any) -> tuple[Any, Any]:  # fmt: skip
    s = make_shop(provider, **shop)
    [reward] = scan_as(client, bearer(make_shopper(s.brand)), s.urls[0])["rewards"]
    run_workers()
    payout = _payout(reward)
    assert payout.status == "awaiting_user"
    return s, payout


def _signed_v3(fake: Any, resource: dict[str, Any], *, ts: int | None = None) -> tuple[Any, bytes]:
    body = json.dumps({"id": "x", "event_type": "MCHTRANSFER.BILL.FINISHED",
                       "resource_type": "encrypt-resource",
                       "resource": pc.encrypt_resource(APIV3_KEY, resource)}).encode()  # fmt: skip
    return _sign(fake, body, ts=ts), body


def _sign(fake: Any, body: bytes, *, ts: int | None = None) -> dict[str, str]:
    stamp, nonce = str(ts or int(time.time())), secrets.token_hex(8)
    message = f"{stamp}\n{nonce}\n".encode() + body + b"\n"
    return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": fake.pki.platform_public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": pc.rsa_sign(fake.platform, message)}  # fmt: skip


def test_v3_forged_stale_malformed_unknown_and_mismatched_notifications_change_nothing(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    shop, payout = _waiting(client, make_shop, make_shopper, bearer, V3)
    fake_pay.confirm(payout.out_trade_no)
    before = _events(payout)
    number = payout.out_trade_no
    good = {"out_bill_no": number, "state": "SUCCESS", "mch_id": shop.mch_id,
            "transfer_amount": 188, "transfer_bill_no": "1"}  # fmt: skip
    headers, body = fake_pay.v3_notification(number, forge=True)
    cases = [("forged", headers, body, 401)]
    headers, body = fake_pay.v3_notification(number, timestamp=int(time.time()) - 301)
    cases.append(("stale", headers, body, 401))
    cases.append(("no headers", {}, body, 401))
    cases.append(("malformed", _sign(fake_pay, b"{not json"), b"{not json", 400))
    resource = {"algorithm": "AEAD_AES_256_GCM", "nonce": "abcdefabcdef", "ciphertext": "AAAA"}
    broken = json.dumps({"resource": resource}).encode()
    cases.append(("undecryptable", _sign(fake_pay, broken), broken, 400))
    for name, change, code in (("unknown", {"out_bill_no": "YW0000000000000000000000X"}, 404),
                               ("amount", {"transfer_amount": 1}, 400),
                               ("mch_id", {"mch_id": "1999999999"}, 400)):  # fmt: skip
        cases.append((name, *_signed_v3(fake_pay, {**good, **change}), code))
    for name, h, b, code in cases:
        answer = client.post("/wechat/pay/notify/v3", data=b, headers=h)
        assert answer.status_code == code, name
        assert answer.get_json()["code"] == "FAIL", name
    payout = _payout({"award_id": str(payout.id)})
    assert payout.status == "awaiting_user" and _events(payout) == before
    ok = client.post("/wechat/pay/notify/v3", data=_signed_v3(fake_pay, good)[1],
                     headers=_signed_v3(fake_pay, good)[0])  # fmt: skip
    assert ok.status_code == 401  # headers signed over a different (re-encrypted) body
    headers, body = _signed_v3(fake_pay, good)
    assert client.post("/wechat/pay/notify/v3", data=body, headers=headers).status_code == 204
    assert _payout({"award_id": str(payout.id)}).status == "paid"


def test_v2_notifications_md5_and_hmac_checked_replayed_and_never_backwards(
    client: FlaskClient, make_shop: Any, make_shopper: Any, fake_pay: Any, bearer: Any
) -> None:
    shop, payout = _waiting(client, make_shop, make_shopper, bearer, CASH)
    number = payout.out_trade_no
    fake_pay.receive(number)
    before = _events(payout)
    bad = {
        "forged": (fake_pay.v2_notification(number, forge=True), 401),
        "forged hmac": (fake_pay.v2_notification(number, sign_type="HMAC-SHA256", forge=True), 401),
        "appid": (fake_pay.v2_notification(number, appid="wxsomeoneelse"), 400),
        "mch_id": (fake_pay.v2_notification(number, mch_id="1999999999"), 400),
        "amount": (fake_pay.v2_notification(number, total_fee="1"), 400),
        "unknown": (
            fake_pay.v2_notification(number, out_trade_no="YW00000000000000000000001"),
            404,
        ),
        "malformed": (b"<xml><return_code>SUCCESS</return_code", 400),
        "entities": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml>&a;</xml>', 400),
        "not success": (b"<xml><return_code>FAIL</return_code></xml>", 400),
    }
    for name, (body, code) in bad.items():
        answer = client.post("/wechat/pay/notify/v2", data=body, content_type="text/xml")
        assert answer.status_code == code, (name, answer.data)
        assert b"<return_code><![CDATA[FAIL]]></return_code>" in answer.data, name
    assert _payout({"award_id": str(payout.id)}).status == "awaiting_user"
    assert _events(payout) == before
    good = fake_pay.v2_notification(number, sign_type="HMAC-SHA256")
    for _ in range(100):
        answer = client.post("/wechat/pay/notify/v2", data=good, content_type="text/xml")
        assert answer.status_code == 200 and b"SUCCESS" in answer.data
    payout = _payout({"award_id": str(payout.id)})
    assert payout.status == "paid" and _events(payout) == before + 2  # the notice + transition
    fake_pay.payments[number].state = "REFUND"  # a late, contradicting notification
    late = fake_pay.v2_notification(number)
    assert (
        client.post("/wechat/pay/notify/v2", data=late, content_type="text/xml").status_code == 200
    )
    payout = _payout({"award_id": str(payout.id)})
    assert payout.status == "paid"  # never backwards; the refusal is in the history
    from campaigns.payouts.service import events

    assert events(payout)[-1]["reason"] == "refused: would move backwards"
