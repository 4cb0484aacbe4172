"""商家转账 (WeChat Pay API v3 transfer bills) through wechatpayv3.

``mch_transfer_bills`` usually answers ``WAIT_USER_CONFIRM`` with a ``package_info``: the
payout waits for the shopper, whose mini-program calls ``wx.requestMerchantTransfer`` with the
``client_action`` we store. wechatpayv3 returns ``(status, text)`` and raises only for transport
errors and bad response signatures: every answer is classified here. Anything that does not
say clearly what happened is ``unknown`` (the same ``out_bill_no`` is queried or re-sent).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from campaigns.payouts.config import Merchant
from campaigns.payouts.providers.base import Order, Outcome, Result
from campaigns.payouts.providers.http import install_v3_transport
from core.db import utcnow

log = logging.getLogger(__name__)
SCENE_ID = "1000"  # 现金营销
CONFIRM_WINDOW = timedelta(hours=24)
STATES = {
    "SUCCESS": Outcome.paid,
    "WAIT_USER_CONFIRM": Outcome.awaiting_user,
    "FAIL": Outcome.failed,
    "CANCELLED": Outcome.cancelled,
}  # ACCEPTED, PROCESSING, TRANSFERING, CANCELING: in flight (unknown)
#: Error codes that say the bill was refused and no money moved.
DEFINITIVE = frozenset({
    "PARAM_ERROR", "INVALID_REQUEST", "NO_AUTH", "NOT_ENOUGH", "NOTENOUGH", "ACCOUNT_ERROR",
    "OPENID_INVALID", "APPID_MCHID_NOT_MATCH", "ACCOUNTERROR", "QUOTA_EXCEED",
})  # fmt: skip
_clients: dict[tuple[Any, ...], WeChatPay] = {}


def _client(order: Order) -> WeChatPay:
    m = order.merchant
    key = (os.getpid(), m, order.base_url, order.timeout, order.notify_url)
    client = _clients.get(key)
    if client is None:
        install_v3_transport(order.ca_bundle)
        client = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG, mchid=m.mch_id,
            private_key=Path(m.private_key).read_text(), cert_serial_no=m.cert_serial,
            appid=m.appid, apiv3_key=m.apiv3_key, notify_url=order.notify_url,
            public_key=Path(m.public_key).read_text(), public_key_id=m.public_key_id,
            timeout=(min(order.timeout, 3.0), order.timeout),
        )  # fmt: skip
        client._core._gate_way = order.base_url.rstrip("/")
        _clients[key] = client
    return client


def _call(name: str, func: Any, *args: Any, **kwargs: Any) -> tuple[int, Any] | Result:
    try:
        status, text = func(*args, **kwargs)
        return int(status), text
    except requests.RequestException as exc:
        return Result(Outcome.unknown, error_code=type(exc).__name__,
                      reason=f"{name}: no answer ({type(exc).__name__})")  # fmt: skip
    except Exception as exc:  # wechatpayv3 raises bare Exception for a bad response signature
        return Result(Outcome.unknown, error_code="BAD_RESPONSE", reason=f"{name}: {exc}"[:300])


def _json(text: Any) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _error(name: str, status: int, body: dict[str, Any]) -> Result:
    code = str(body.get("code") or f"HTTP_{status}")
    reason = f"{name}: {code} {body.get('message') or ''}".strip()[:300]
    if status < 500 and status != 429 and code in DEFINITIVE:
        return Result(Outcome.failed, code, error_code=code, reason=reason)
    return Result(Outcome.unknown, code, error_code=code, reason=reason)


def bill_result(amount_fen: int, m: Merchant, body: dict[str, Any]) -> Result:
    """What a transfer bill (an answer or a notification's resource) says about the payment."""
    state = str(body.get("state") or "")
    outcome = STATES.get(state, Outcome.unknown)
    reference = body.get("transfer_bill_no")
    if outcome is Outcome.awaiting_user:
        action = {"api": "wx.requestMerchantTransfer",
                  "params": {"mchId": m.mch_id, "appId": m.appid,
                             "package": body.get("package_info") or ""}}  # fmt: skip
        return Result(outcome, state, reference, client_action=action,
                      expires_at=utcnow() + CONFIRM_WINDOW)  # fmt: skip
    if outcome is Outcome.paid:
        return Result(outcome, state, reference, paid_fen=amount_fen)
    if outcome is Outcome.failed:
        why = str(body.get("fail_reason") or "FAIL")
        return Result(outcome, state, reference, error_code=why, reason=f"transfer failed: {why}")
    return Result(outcome, state or None, reference, reason=f"bill is {state or 'unreadable'}")


class V3TransferProvider:
    """Transfer bills: send (same ``out_bill_no`` on every retry), query, cancel."""

    name = "wechat_v3_transfer"

    def send(self, order: Order) -> Result:
        """Create the bill (or be told the existing bill's state)."""
        infos = [{"info_type": "活动名称", "info_content": order.campaign_name[:32] or "扫码红包"},
                 {"info_type": "奖励说明", "info_content": "扫码抽奖红包"}]  # fmt: skip
        client = _client(order)
        answer = _call(
            "transfer", client.mch_transfer_bills, out_bill_no=order.out_trade_no,
            transfer_scene_id=SCENE_ID, openid=order.openid, transfer_amount=order.amount_fen,
            transfer_remark=f"{order.brand_name}红包"[:32], transfer_scene_report_infos=infos,
            user_recv_perception="活动奖励",
        )  # fmt: skip
        return self._read("transfer", order, answer)

    def query(self, order: Order) -> Result:
        """The bill's state by our number; ``not_found`` when WeChat has none."""
        answer = _call("query", _client(order).mch_transfer_bills_query,
                       out_bill_no=order.out_trade_no)  # fmt: skip
        if isinstance(answer, tuple) and answer[0] == 404:
            return Result(Outcome.not_found, "NOT_FOUND", error_code="NOT_FOUND")
        return self._read("query", order, answer)

    def cancel(self, order: Order) -> Result:
        """Cancel an unconfirmed bill (CANCELING means: query again later)."""
        answer = _call("cancel", _client(order).mch_transfer_bills_cancel,
                       out_bill_no=order.out_trade_no)  # fmt: skip
        return self._read("cancel", order, answer)

    @staticmethod
    def _read(name: str, order: Order, answer: tuple[int, Any] | Result) -> Result:
        if isinstance(answer, Result):
            return answer
        status, text = answer
        body = _json(text)
        if not 200 <= status < 300:
            return _error(name, status, body)
        return bill_result(order.amount_fen, order.merchant, body)
