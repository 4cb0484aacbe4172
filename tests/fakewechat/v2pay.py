"""The fake's WeChat Pay v2 routes: XML, MD5/HMAC-SHA256 signatures, client certificates.

``sendredpack`` (cash), ``sendminiprogramhb`` (mini-program, returns a ``package``) and
``gethbinfo`` (the red packet's state) under ``/mmpaymkttransfers/``. Each needs the merchant's
client certificate (CN = mch_id) and a valid signature under its API key.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

import xmltodict
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac, dict_to_xml

from tests.fakewechat.paycommon import Payment
from tests.fakewechat.server import RecordedRequest, Reply
from tests.fakewechat.tls import CLIENT_CERT_HEADER

PREFIX = "/mmpaymkttransfers/"


def _xml(fields: dict[str, Any], key: str | None = None) -> Reply:
    data = {k: v for k, v in fields.items() if v is not None}
    sign = calculate_signature(data, key) if key else None
    return Reply(200, dict_to_xml(data, sign).encode(), "text/plain; charset=utf-8")


def _fail(return_msg: str) -> Reply:
    return _xml({"return_code": "FAIL", "return_msg": return_msg})


def _result_fail(code: str, text: str, data: dict[str, str]) -> Reply:
    return _xml({"return_code": "SUCCESS", "return_msg": text, "result_code": "FAIL",
                 "err_code": code, "err_code_des": text, "mch_billno": data.get("mch_billno"),
                 "mch_id": data.get("mch_id")})  # fmt: skip


def sign_v2(fields: dict[str, str], key: str, sign_type: str = "MD5") -> str:
    """WeChat Pay v2's signature of ``fields`` (without ``sign``)."""
    if sign_type == "HMAC-SHA256":
        return str(calculate_signature_hmac(fields, key))
    return str(calculate_signature(fields, key))


class V2Routes:
    """Mixed into ``FakeWeChatPay`` (which provides merchants, payments, faults)."""

    merchants: dict[str, Any]
    payments: dict[str, Payment]
    moved: Any
    _pay_lock: Any

    def install_v2_routes(self) -> None:
        """Add the v2 red packet routes."""
        add: Any = self.add_route  # type: ignore[attr-defined]
        none = lambda mode: None  # noqa: E731
        add("POST", PREFIX + "sendredpack", lambda r: self._v2_send(r, "redpack"), fault=none)
        add("POST", PREFIX + "sendminiprogramhb", lambda r: self._v2_send(r, "miniprogramhb"),
            fault=none)  # fmt: skip
        add("POST", PREFIX + "gethbinfo", self._v2_query, fault=none)

    def _v2_parse(self, request: RecordedRequest) -> tuple[dict[str, str], Any] | Reply:
        try:
            data = dict(xmltodict.parse(request.body)["xml"])
        except Exception:
            return _fail("XML格式错误")
        merchant = self.merchants.get(data.get("mch_id", ""))
        if merchant is None:
            return _fail("商户号不存在")
        if request.headers.get(CLIENT_CERT_HEADER) != merchant.mch_id:
            return _result_fail("CA_ERROR", "请求未携带商户证书或证书与商户号不符", data)
        fields = {k: v for k, v in data.items() if k != "sign"}
        expected = sign_v2(fields, merchant.api_key, data.get("sign_type") or "MD5")
        if not hmac.compare_digest(data.get("sign", ""), expected):
            return _result_fail("SIGN_ERROR", "签名错误", data)
        return data, merchant

    def _v2_send(self, request: RecordedRequest, kind: str) -> Reply:
        parsed = self._v2_parse(request)
        if isinstance(parsed, Reply):
            return parsed
        data, merchant = parsed
        fault = self._fault("sendredpack" if kind == "redpack" else kind)  # type: ignore[attr-defined]
        early = self._v2_pre_fault(fault, data)
        if early is not None:
            return early
        refusal = self._v2_check(data, merchant, kind)
        if refusal is not None:
            return refusal
        number, amount = data["mch_billno"], int(data["total_amount"])
        params = {k: data.get(k) for k in ("re_openid", "total_amount", "wxappid")}
        with self._pay_lock:
            packet = self.payments.get(number)
            if packet is not None and packet.params != params:
                return _result_fail("PARAM_ERROR", "商户订单号重复且参数不一致", data)
            if packet is None:
                if merchant.balance_fen < amount:
                    return _result_fail("NOTENOUGH", "帐号余额不足", data)
                merchant.balance_fen -= amount
                packet = Payment(kind, number, merchant.mch_id, data["wxappid"], data["re_openid"],
                                 amount, "SENT", params)  # fmt: skip
                self.payments[number] = packet
                self.moved[number] += 1
        ok = {"return_code": "SUCCESS", "return_msg": "发放成功", "result_code": "SUCCESS",
              "mch_billno": number, "mch_id": merchant.mch_id, "wxappid": data["wxappid"],
              "re_openid": data["re_openid"], "total_amount": amount,
              "send_listid": packet.reference}  # fmt: skip
        if kind == "miniprogramhb":
            ok["package"] = f"sendid={packet.reference}&ver=8&sign={packet.package}&mchid=x"
        error = _result_fail("SYSTEMERROR", "系统繁忙,请稍后再试", data)
        return self._after_fault(fault, _xml(ok, merchant.api_key), error)  # type: ignore[attr-defined, no-any-return]

    def _v2_pre_fault(self, fault: str | None, data: dict[str, str]) -> Reply | None:
        if fault == "http500":
            return Reply(500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
        if fault == "systemerror":
            return _result_fail("SYSTEMERROR", "系统繁忙,请稍后再试", data)
        if fault == "notenough":
            return _result_fail("NOTENOUGH", "帐号余额不足", data)
        if fault == "frequency_limited":
            return _result_fail("FREQ_LIMIT", "超过频率限制,请稍后再试", data)
        if fault == "timeout":
            self._sleep()  # type: ignore[attr-defined]
            return _result_fail("SYSTEMERROR", "late", data)
        return None

    @staticmethod
    def _v2_check(data: dict[str, str], merchant: Any, kind: str) -> Reply | None:
        for name in ("mch_billno", "wxappid", "re_openid", "total_amount", "send_name",
                     "act_name", "wishing", "remark", "nonce_str"):  # fmt: skip
            if not data.get(name):
                return _result_fail("PARAM_ERROR", f"{name} 缺失", data)
        if data["wxappid"] not in merchant.appids:
            return _result_fail("MSGAPPID_ERROR", "公众号/小程序与商户号不匹配", data)
        if kind == "redpack" and not data.get("client_ip"):
            return _result_fail("PARAM_ERROR", "client_ip 缺失", data)
        if kind == "miniprogramhb" and data.get("notify_way") != "MINI_PROGRAM_JSAPI":
            return _result_fail("PARAM_ERROR", "notify_way 必须为 MINI_PROGRAM_JSAPI", data)
        amount = data["total_amount"]
        if not amount.isdigit() or not 100 <= int(amount) <= 20_000:
            return _result_fail("MONEY_LIMIT", "每个红包的金额必须在1-200元之间", data)
        if len(data["mch_billno"]) > 28 or not data["mch_billno"].isalnum():
            return _result_fail("PARAM_ERROR", "mch_billno 格式错误", data)
        return None

    def _v2_query(self, request: RecordedRequest) -> Reply:
        parsed = self._v2_parse(request)
        if isinstance(parsed, Reply):
            return parsed
        data, merchant = parsed
        early = self._v2_pre_fault(self._fault("gethbinfo"), data)  # type: ignore[attr-defined]
        if early is not None:
            return early
        with self._pay_lock:
            packet = self.payments.get(data.get("mch_billno", ""))
            if packet is None or packet.mch_id != merchant.mch_id:
                return _result_fail("NOT_FOUND", "指定单号数据不存在", data)
            body = {"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_billno": packet.number,
                    "mch_id": packet.mch_id, "detail_id": packet.reference, "status": packet.state,
                    "send_type": "API", "hb_type": "NORMAL", "total_num": 1,
                    "total_amount": packet.amount, "openid": packet.openid}  # fmt: skip
        return _xml(body, merchant.api_key)

    def receive(self, number: str) -> dict[str, Any]:
        """The shopper opens a v2 red packet."""
        with self._pay_lock:
            packet = self.payments[number]
            if packet.state == "SENT":
                packet.state = "RECEIVED"
            return {"state": packet.state}

    def refund(self, number: str) -> dict[str, Any]:
        """Nobody opened it in 24 h: WeChat refunds the merchant."""
        with self._pay_lock:
            packet = self.payments[number]
            if packet.state == "SENT":
                packet.state = "REFUND"
                self.merchants[packet.mch_id].balance_fen += packet.amount
            return {"state": packet.state}

    def v2_notification(self, number: str, *, sign_type: str = "MD5", forge: bool = False,
                        **override: Any) -> bytes:  # fmt: skip
        """A v2 notification of a red packet's state, signed with the merchant's API key."""
        with self._pay_lock:
            packet = self.payments[number]
            merchant = self.merchants[packet.mch_id]
        fields: dict[str, Any] = {
            "return_code": "SUCCESS", "result_code": "SUCCESS", "appid": packet.appid,
            "mch_id": packet.mch_id, "nonce_str": secrets.token_hex(16), "out_trade_no": number,
            "total_fee": str(packet.amount), "status": packet.state,
            "transaction_id": packet.reference, "time_end": time.strftime("%Y%m%d%H%M%S"),
        }  # fmt: skip
        if sign_type != "MD5":
            fields["sign_type"] = sign_type
        fields.update({k: str(v) for k, v in override.items()})
        key = "forged-key-" + secrets.token_hex(8) if forge else merchant.api_key
        return dict_to_xml(fields, sign_v2(fields, key, sign_type)).encode()

    def notify_v2(self, number: str, url: str, sign_type: str = "MD5") -> int:
        """POST a v2 notification to the app."""
        body = self.v2_notification(number, sign_type=sign_type)
        return self.deliver(url, {"Content-Type": "text/xml"}, body)  # type: ignore[attr-defined, no-any-return]
