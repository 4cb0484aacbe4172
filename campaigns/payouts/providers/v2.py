"""WeChat Pay v2 red packets through wechatpy: mini-program (``sendminiprogramhb``) and cash
(``sendredpack``). Both are XML over TLS with the merchant's client certificate.

A sent red packet waits for the shopper (``awaiting_user``) until the red-packet query
(``gethbinfo``) says ``RECEIVED`` (paid) or ``REFUND`` (unclaimed for 24 h: failed, expired).
wechatpy raises the same ``WeChatPayException`` for unknown outcomes and definitive refusals,
so ``err_code`` is classified here; anything unrecognised is unknown (same number, query).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from campaigns.payouts.providers.base import Order, Outcome, Result
from campaigns.payouts.providers.http import configure_session
from core.db import utcnow

#: err_code values that say no money moved and the same request would be refused again.
DEFINITIVE = frozenset({
    "NOTENOUGH", "NO_AUTH", "PARAM_ERROR", "SENDNUM_LIMIT", "MONEY_LIMIT", "OPENID_ERROR",
    "CA_ERROR", "SIGN_ERROR", "ILLEGAL_APPID", "MSGAPPID_ERROR", "SEND_FAILED", "FATAL_ERROR",
    "SENDAMOUNT_LIMIT", "API_METHOD_CLOSED", "XML_ERROR", "ACCEPTMODE_ERROR", "USER_ERROR",
})  # fmt: skip
QUERY_STATES = {
    "RECEIVED": Outcome.paid,
    "SENT": Outcome.awaiting_user,
    "REFUND": Outcome.failed,
    "FAILED": Outcome.failed,
}  # SENDING, RFUND_ING: in flight
_clients: dict[tuple[Any, ...], WeChatPay] = {}


def _client(order: Order, appid: str) -> WeChatPay:
    m = order.merchant
    key = (os.getpid(), m, appid, order.base_url, order.timeout, order.ca_bundle)
    client = _clients.get(key)
    if client is None:
        timeout = (min(order.timeout, 3.0), order.timeout)
        client = WeChatPay(appid=appid, api_key=m.api_key, mch_id=m.mch_id, mch_cert=m.mch_cert,
                           mch_key=m.mch_key, timeout=timeout)  # fmt: skip
        client.API_BASE_URL = order.base_url.rstrip("/") + "/"
        configure_session(client._http, order.ca_bundle)
        _clients[key] = client
    return client


def _classify(name: str, exc: WeChatPayException) -> Result:
    code = str(exc.errcode or exc.return_code or "")
    if exc.return_code is None:  # an HTTP error status
        status = exc.response.status_code if exc.response is not None else "?"
        return Result(Outcome.unknown, error_code=f"HTTP_{status}", reason=f"{name}: HTTP {status}")
    reason = f"{name}: {code} {exc.errmsg or exc.return_msg or ''}".strip()[:300]
    if code == "NOT_FOUND":
        return Result(Outcome.not_found, "NOT_FOUND", error_code=code, reason=reason)
    if code in DEFINITIVE:
        return Result(Outcome.failed, code, error_code=code, reason=reason)
    return Result(Outcome.unknown, code or None, error_code=code or "FAIL", reason=reason)


def _guard(name: str, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any] | Result:
    try:
        answer = func(*args, **kwargs)
    except WeChatPayException as exc:
        return _classify(name, exc)
    except requests.RequestException as exc:
        return Result(Outcome.unknown, error_code=type(exc).__name__,
                      reason=f"{name}: no answer ({type(exc).__name__})")  # fmt: skip
    if not isinstance(answer, dict):  # wechatpy hands back text it could not parse
        return Result(Outcome.unknown, error_code="NOT_XML", reason=f"{name}: unreadable answer")
    return answer


def send_biz_red_packet(appid: str, api_key: str, package: str) -> dict[str, Any]:
    """The ``client_action`` for ``wx.sendBizRedPacket`` (MD5 paySign, urlencoded package)."""
    params = {"timeStamp": str(int(time.time())), "nonceStr": secrets.token_hex(16),
              "package": quote(package, safe=""), "signType": "MD5"}  # fmt: skip
    text = (f"appId={appid}&nonceStr={params['nonceStr']}&package={params['package']}"
            f"&timeStamp={params['timeStamp']}&key={api_key}")  # fmt: skip
    params["paySign"] = hashlib.md5(text.encode()).hexdigest().upper()
    return {"api": "wx.sendBizRedPacket", "params": params}


class V2RedpackProvider:
    """Mini-program (``miniprogram=True``) or cash red packets; query by our ``mch_billno``."""

    def __init__(self, miniprogram: bool) -> None:
        self.miniprogram = miniprogram
        self.name = "wechat_v2_miniprogram_redpack" if miniprogram else "wechat_v2_redpack"

    def _appid(self, order: Order) -> str:
        m = order.merchant
        return m.appid if self.miniprogram else m.redpack_appid

    def send(self, order: Order) -> Result:
        """Send the red packet (a retry re-sends the same ``mch_billno``)."""
        client, appid = _client(order, self._appid(order)), self._appid(order)
        common = {"send_name": order.brand_name[:32] or "红包",
                  "act_name": order.campaign_name[:32] or "扫码红包",
                  "wishing": "恭喜发财", "remark": "扫码抽奖"}  # fmt: skip
        if self.miniprogram:
            data = {"mch_billno": order.out_trade_no, "wxappid": appid, "re_openid": order.openid,
                    "total_amount": order.amount_fen, "total_num": 1,
                    "notify_way": "MINI_PROGRAM_JSAPI", **common}  # fmt: skip
            answer = _guard("sendminiprogramhb", client.post,
                            "mmpaymkttransfers/sendminiprogramhb", data=data)  # fmt: skip
        else:
            answer = _guard(
                "sendredpack", client.redpack.send, order.openid, order.amount_fen,
                client_ip=os.environ.get("WECHAT_PAY_CLIENT_IP", "127.0.0.1"),
                out_trade_no=order.out_trade_no, **common,
            )  # fmt: skip
        if isinstance(answer, Result):
            return answer
        action = None
        if self.miniprogram:
            action = send_biz_red_packet(appid, order.merchant.api_key, answer.get("package", ""))
        expires = utcnow() + timedelta(hours=24)
        reference = answer.get("send_listid")
        return Result(Outcome.awaiting_user, "SENT", reference, client_action=action,
                      expires_at=expires)  # fmt: skip

    def query(self, order: Order) -> Result:
        """The red packet's state (``gethbinfo``)."""
        answer = _guard("gethbinfo", _client(order, self._appid(order)).redpack.query,
                        order.out_trade_no)  # fmt: skip
        if isinstance(answer, Result):
            return answer
        state = str(answer.get("status") or "")
        outcome = QUERY_STATES.get(state, Outcome.unknown)
        amount = int(answer.get("total_amount") or 0) or None
        if outcome is Outcome.paid:
            return Result(outcome, state, answer.get("detail_id"), paid_fen=amount)
        if outcome is Outcome.failed:
            why = "expired" if state == "REFUND" else f"red packet {state}"
            return Result(outcome, state, error_code=state, reason=why)
        return Result(outcome, state or None, reason=f"red packet is {state or 'unreadable'}")

    def cancel(self, order: Order) -> Result:
        """v2 red packets cannot be cancelled: WeChat refunds them after 24 h; query instead."""
        return self.query(order)
