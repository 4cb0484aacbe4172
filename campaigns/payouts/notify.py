"""WeChat Pay's notifications: ``POST /wechat/pay/notify/v2`` (XML) and ``/v3`` (JSON).

Verified before anything is read into the database: v2 by its MD5 or HMAC-SHA256 signature
under the brand's API key, with appid, mch_id and the amount checked against the payout; v3 by
RSA-SHA256 over ``timestamp\\nnonce\\nbody\\n`` with the platform public key named by
``Wechatpay-Serial``, a 5-minute timestamp window, then AES-256-GCM for the resource.
A notification only ever moves a payout forward through the state machine (``engine.apply``),
so duplicates and replays change nothing. Answers are in WeChat's own format.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xmltodict
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from accounts.models import Brand
from campaigns.models import Payout
from campaigns.payouts import award_id_of, config, engine
from campaigns.payouts.config import Merchant
from campaigns.payouts.providers import v3
from campaigns.payouts.providers.base import Outcome, Result
from campaigns.payouts.providers.v2 import QUERY_STATES
from core.db import db

log = logging.getLogger(__name__)
WINDOW_SECONDS = 300


class Rejected(Exception):
    """A notification we refuse; ``status`` is the HTTP status WeChat gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Found:
    """The payout a notification names, with its brand's merchant credentials."""

    payout: Payout
    merchant: Merchant
    stale: bool  # the number of an earlier round (before an operator retry)


def _find(number: str, provider: str | tuple[str, ...]) -> Found:
    payout = db.session.scalar(select(Payout).where(Payout.out_trade_no == number))
    stale = False
    if payout is None:
        award_id = award_id_of(number)
        payout = db.session.scalar(select(Payout).where(Payout.award_id == award_id)) if (
            award_id is not None) else None  # fmt: skip
        stale = payout is not None
    providers = (provider,) if isinstance(provider, str) else provider
    if payout is None or payout.provider not in providers:
        raise Rejected(404, "unknown trade number")
    brand = db.session.get(Brand, payout.brand_id)
    assert brand is not None
    return Found(payout, config.merchant_for(brand), stale)


# -- v2 ---------------------------------------------------------------------------------------


def _v2_fields(body: bytes) -> dict[str, str]:
    try:
        parsed = xmltodict.parse(body, disable_entities=True)
    except Exception as exc:  # expat errors, entities, bad encodings
        raise Rejected(400, "malformed XML") from exc
    data = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(data, dict) or not all(isinstance(v, str | None) for v in data.values()):
        raise Rejected(400, "malformed XML")
    return {k: v or "" for k, v in data.items()}


def _v2_signed(data: dict[str, str], key: str) -> bool:
    sign = data.get("sign", "")
    fields = {k: v for k, v in data.items() if k != "sign"}
    kind = data.get("sign_type") or "MD5"
    if kind == "HMAC-SHA256":
        expected = calculate_signature_hmac(fields, key)
    elif kind == "MD5":
        expected = calculate_signature(fields, key)
    else:
        return False
    return bool(key) and hmac.compare_digest(sign.upper(), expected)


def handle_v2(body: bytes) -> str:
    """Verify and apply a v2 notification; returns the payout's status afterwards."""
    data = _v2_fields(body)
    if data.get("return_code") != "SUCCESS":
        raise Rejected(400, "return_code is not SUCCESS")
    number = data.get("out_trade_no") or data.get("mch_billno") or ""
    found = _find(number, (config.V2_MINIPROGRAM, config.V2_REDPACK))
    payout, m = found.payout, found.merchant
    if not _v2_signed(data, m.api_key):
        raise Rejected(401, "signature check failed")
    appid = m.appid if payout.provider == config.V2_MINIPROGRAM else m.redpack_appid
    if (data.get("appid") or data.get("wxappid")) != appid or data.get("mch_id") != m.mch_id:
        raise Rejected(400, "appid or mch_id does not match")
    amount = data.get("total_fee") or data.get("total_amount") or ""
    if not amount.isdigit() or int(amount) != payout.amount_fen:
        raise Rejected(400, "amount does not match")
    return _apply(found, _v2_result(data, int(amount)))


def _v2_result(data: dict[str, str], amount: int) -> Result:
    state = data.get("status") or ("RECEIVED" if data.get("result_code") == "SUCCESS" else "FAILED")
    outcome = QUERY_STATES.get(state, Outcome.unknown)
    if outcome is Outcome.paid:
        return Result(outcome, state, data.get("transaction_id") or data.get("detail_id"),
                      paid_fen=amount)  # fmt: skip
    if outcome is Outcome.failed:
        why = "expired" if state == "REFUND" else f"red packet {state}: {data.get('err_code', '')}"
        return Result(outcome, state, error_code=data.get("err_code") or state, reason=why)
    return Result(outcome, state, reason=f"notified {state}")


def _apply(found: Found, result: Result) -> str:
    payout = found.payout
    if found.stale:
        log.warning("notification for an earlier round of payout %s: %s", payout.id,
                    result.provider_status)  # fmt: skip
        return payout.status.value
    status = engine.apply(str(payout.id), "notification", result, quiet_repeat=True)
    return status.value if status else "missing"


# -- v3 ---------------------------------------------------------------------------------------


def _v3_candidates(serial: str) -> list[Merchant]:
    brands = db.session.scalars(select(Brand).where(Brand.pay_public_key_id == serial))
    merchants = [config.merchant_for(b) for b in brands]
    from flask import current_app

    if current_app.config.get("WECHAT_PAY_PUBLIC_KEY_ID") == serial:
        merchants.append(config.merchant_for(Brand(settings={})))
    return [m for m in merchants if m.public_key and m.apiv3_key]


def _public_key(path: str) -> rsa.RSAPublicKey | None:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def _v3_verified(headers: dict[str, str], body: bytes) -> Merchant:
    ts, nonce = headers.get("wechatpay-timestamp", ""), headers.get("wechatpay-nonce", "")
    signature, serial = headers.get("wechatpay-signature", ""), headers.get("wechatpay-serial", "")
    if not (ts.isdigit() and nonce and signature and serial):
        raise Rejected(401, "missing signature headers")
    if abs(time.time() - int(ts)) > WINDOW_SECONDS:
        raise Rejected(401, "timestamp outside the 5-minute window")
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError as exc:
        raise Rejected(401, "signature is not base64") from exc
    message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
    for merchant in _v3_candidates(serial):
        key = _public_key(merchant.public_key)
        if key is None:
            continue
        try:
            key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return merchant
    raise Rejected(401, "signature check failed")


def _v3_resource(merchant: Merchant, body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
        res = envelope["resource"]
        if res.get("algorithm") != "AEAD_AES_256_GCM":
            raise Rejected(400, "unsupported algorithm")
        plain = AESGCM(merchant.apiv3_key.encode()).decrypt(
            res["nonce"].encode(), base64.b64decode(res["ciphertext"]),
            (res.get("associated_data") or "").encode(),
        )  # fmt: skip
        data = json.loads(plain)
    except Rejected:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, InvalidTag) as exc:
        raise Rejected(400, "malformed or undecryptable resource") from exc
    if not isinstance(data, dict):
        raise Rejected(400, "malformed resource")
    return data


def handle_v3(headers: dict[str, str], body: bytes) -> str:
    """Verify, decrypt and apply a v3 transfer-bill notification; returns the payout's status."""
    merchant = _v3_verified(headers, body)
    data = _v3_resource(merchant, body)
    found = _find(str(data.get("out_bill_no") or ""), config.V3_TRANSFER)
    m = found.merchant
    if m.mch_id != merchant.mch_id or str(data.get("mch_id") or m.mch_id) != m.mch_id:
        raise Rejected(400, "mch_id does not match")
    if data.get("transfer_amount") != found.payout.amount_fen:
        raise Rejected(400, "amount does not match")
    result = v3.bill_result(found.payout.amount_fen, m, data)
    return _apply(found, result)
