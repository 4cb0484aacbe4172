"""A fake WeChat Pay over TLS: v3 transfer bills and v2 red packets, with fault injection.

The real clients (wechatpayv3, wechatpy) talk to it. v3 requests must carry a valid merchant
signature (``Authorization: WECHATPAY2-SHA256-RSA2048 ...``); answers and notifications are
signed with the platform key and notification resources AES-256-GCM encrypted. v2 requests
must present the merchant's client certificate and a valid MD5/HMAC-SHA256 signature. As at
WeChat, a trade number pays at most once: a repeat with the same parameters answers with the
existing payment. ``moved`` counts, per number, the payments that actually moved money.

Run as a separate process: ``python -m tests.fakewechat.pay PKI.json`` prints ``PORT n``;
``POST /_fake/<op>`` (JSON keyword arguments) drives it (see ``control``).
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from tests.fakewechat import paycommon as pc
from tests.fakewechat.paycommon import Merchant, Payment
from tests.fakewechat.pki import Pki, pki_from_dict
from tests.fakewechat.server import FakeWeChat, RecordedRequest, Reply
from tests.fakewechat.v2pay import V2Routes

V3_BILLS = "/v3/fund-app/mch-transfer/transfer-bills"


def _no_fault(mode: str) -> Reply | None:
    return None


class FakeWeChatPay(V2Routes, FakeWeChat):
    """Mini-program login (inherited) plus WeChat Pay v2 and v3, over TLS."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.platform = pc.load_private(pki.platform_private_key)
        super().__init__()

    def start(self) -> FakeWeChatPay:
        """Listen over TLS on a free port of 127.0.0.1."""
        from tests.fakewechat.tls import serve

        if self._server is None:
            self._server, self._thread = serve(self, self.pki)
        return self

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT/``."""
        return super().base_url.replace("http://", "https://")

    def reset(self) -> None:
        """Forget merchants, payments, faults and notifications (and the login state)."""
        self._pay_lock = threading.RLock()
        self.merchants: dict[str, Merchant] = {}
        self.payments: dict[str, Payment] = {}
        self.moved: Counter[str] = Counter()
        self.faults: list[tuple[str, str]] = []
        self.confirm_mode = "user"
        self.timeout_seconds = 3.0
        self.holding = 0  # requests waiting at a hold fault
        self._release = threading.Event()
        super().reset()

    def _install_routes(self) -> None:
        super()._install_routes()
        self.add_route("POST", V3_BILLS, self._v3_transfer, fault=_no_fault)
        self.add_route("GET", V3_BILLS + "/out-bill-no/{number}", self._v3_query, fault=_no_fault)
        self.add_route("POST", V3_BILLS + "/out-bill-no/{number}/cancel", self._v3_cancel,
                       fault=_no_fault)  # fmt: skip
        self.add_route("POST", "/_fake/{op}", self._control, fault=_no_fault)
        self.install_v2_routes()

    # -- controls ----------------------------------------------------------------------------

    def add_merchant(self, mch_id: str, api_key: str, apiv3_key: str, appids: list[str],
                     balance_fen: int = 10**9) -> None:  # fmt: skip
        """A merchant whose v3 requests are signed with the PKI's merchant key."""
        with self._pay_lock:
            self.merchants[mch_id] = Merchant(
                mch_id, api_key, apiv3_key, set(appids), balance_fen, self.pki.merchant_serial,
                pc.load_public(self.pki.merchant_public_key),
            )  # fmt: skip

    def inject(self, route: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``route`` (or ``*``) fail with ``fault``."""
        assert fault in pc.FAULTS, fault
        with self._pay_lock:
            self.faults.extend([(route, fault)] * times)

    def _fault(self, route: str) -> str | None:
        with self._pay_lock:
            for index, (name, fault) in enumerate(self.faults):
                if name in (route, "*"):
                    del self.faults[index]
                    return fault
        return None

    def _sleep(self) -> None:
        self._wake.wait(self.timeout_seconds)

    def _hold(self) -> None:
        with self._pay_lock:
            self.holding += 1
            release = self._release
        release.wait(60)

    def release(self) -> None:
        """Let requests held by ``hold``/``hold_after`` faults go on."""
        with self._pay_lock:
            self._release.set()
            self._release = threading.Event()
            self.holding = 0

    def confirm(self, number: str) -> dict[str, Any]:
        """The shopper confirms a v3 bill in WeChat (``wx.requestMerchantTransfer``)."""
        with self._pay_lock:
            bill = self.payments[number]
            if bill.state == "WAIT_USER_CONFIRM":
                bill.state = "SUCCESS"
            return {"state": bill.state}

    def expire(self, number: str) -> dict[str, Any]:
        """A v3 bill nobody confirmed within 24 h: WeChat cancels it, the money comes back."""
        with self._pay_lock:
            bill = self.payments[number]
            if bill.state == "WAIT_USER_CONFIRM":
                bill.state = "CANCELLED"
                self.merchants[bill.mch_id].balance_fen += bill.amount
            return {"state": bill.state}

    def stats(self) -> dict[str, Any]:
        """Money moved per number and each payment's state (for tests in another process)."""
        with self._pay_lock:
            return {"moved": dict(self.moved),
                    "states": {n: p.state for n, p in self.payments.items()},
                    "balances": {m: x.balance_fen for m, x in self.merchants.items()}}  # fmt: skip

    def v3_notification(self, number: str, *, forge: bool = False,
                        timestamp: int | None = None) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """A signed, encrypted MCHTRANSFER.BILL.FINISHED notification of a bill's state."""
        with self._pay_lock:
            bill = self.payments[number]
            merchant = self.merchants[bill.mch_id]
            resource = {"out_bill_no": number, "transfer_bill_no": bill.reference,
                        "state": bill.state, "mch_id": bill.mch_id,
                        "transfer_amount": bill.amount, "openid": bill.openid,
                        "create_time": _iso(bill.created),
                        "update_time": _iso(time.time())}  # fmt: skip
        body = json.dumps({
            "id": secrets.token_hex(16), "create_time": _iso(time.time()),
            "resource_type": "encrypt-resource", "event_type": "MCHTRANSFER.BILL.FINISHED",
            "summary": "商家转账单据终态通知",
            "resource": pc.encrypt_resource(merchant.apiv3_key, resource),
        }).encode()  # fmt: skip
        ts, nonce = str(timestamp or int(time.time())), secrets.token_hex(16)
        key = pc.load_private(self.pki.merchant_private_key) if forge else self.platform
        signature = pc.rsa_sign(key, f"{ts}\n{nonce}\n".encode() + body + b"\n")
        headers = {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce,
                   "Wechatpay-Signature": signature,
                   "Wechatpay-Serial": self.pki.platform_public_key_id,
                   "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
                   "Content-Type": "application/json"}  # fmt: skip
        return headers, body

    def deliver(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST a notification to the app, as WeChat would; returns the HTTP status."""
        return requests.post(url, data=body, headers=headers, timeout=5).status_code

    def notify_v3(self, number: str, url: str | None = None) -> int:
        """Send a bill's notification to its ``notify_url`` (or ``url``)."""
        headers, body = self.v3_notification(number)
        return self.deliver(url or self.payments[number].notify_url or "", headers, body)

    # -- v3 ----------------------------------------------------------------------------------

    def _v3_auth(self, request: RecordedRequest) -> Merchant | Reply:
        auth = request.headers.get("authorization", "")
        scheme, _, rest = auth.partition(" ")
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
        merchant = self.merchants.get(fields.get("mchid", ""))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or merchant is None:
            return pc.v3_error(401, "SIGN_ERROR", "签名错误: 商户号或认证方式")
        if fields.get("serial_no") != merchant.serial:
            return pc.v3_error(401, "SIGN_ERROR", "商户证书序列号错误")
        ts = fields.get("timestamp", "0")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return pc.v3_error(401, "SIGN_ERROR", "时间戳过期")
        path = request.path + (("?" + "&".join(f"{k}={v}" for k, v in request.query.items()))
                               if request.query else "")  # fmt: skip
        message = (f"{request.method}\n{path}\n{ts}\n{fields.get('nonce_str', '')}\n".encode()
                   + request.body + b"\n")  # fmt: skip
        if not pc.rsa_ok(merchant.public_key, fields.get("signature", ""), message):
            return pc.v3_error(401, "SIGN_ERROR", "签名错误")
        if request.headers.get("wechatpay-serial") != self.pki.platform_public_key_id:
            return pc.v3_error(400, "PARAM_ERROR", "Wechatpay-Serial 不是平台公钥ID")
        return merchant

    def _bill_json(self, bill: Payment) -> dict[str, Any]:
        body = {"out_bill_no": bill.number, "transfer_bill_no": bill.reference,
                "create_time": _iso(bill.created), "state": bill.state,
                "mch_id": bill.mch_id, "appid": bill.appid, "openid": bill.openid,
                "transfer_amount": bill.amount}  # fmt: skip
        if bill.state == "WAIT_USER_CONFIRM":
            body["package_info"] = bill.package
        if bill.state == "FAIL":
            body["fail_reason"] = "ACCOUNT_FROZEN"
        return body

    def _v3_pre_fault(self, fault: str | None) -> Reply | None:
        if fault == "http500":
            return Reply(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if fault == "systemerror":
            return pc.v3_error(500, "SYSTEM_ERROR", "系统错误")
        if fault == "notenough":
            return pc.v3_error(403, "NOT_ENOUGH", "商户运营账户资金不足")
        if fault == "frequency_limited":
            return pc.v3_error(429, "FREQUENCY_LIMITED", "频率超限")
        if fault == "timeout":
            self._sleep()
            return pc.v3_error(500, "SYSTEM_ERROR", "late")
        if fault == "hold":  # the request never reaches WeChat's books: dropped when released
            self._hold()
            return Reply(0)
        return None

    def _v3_transfer(self, request: RecordedRequest) -> Reply:
        merchant = self._v3_auth(request)
        if isinstance(merchant, Reply):
            return merchant
        fault = self._fault("transfer")
        early = self._v3_pre_fault(fault)
        if early is not None:
            return early
        data = request.json()
        refusal = _v3_check(data, merchant)
        if refusal is not None:
            return refusal
        number = data["out_bill_no"]
        params = {k: data.get(k) for k in ("openid", "transfer_amount", "appid")}
        with self._pay_lock:
            bill = self.payments.get(number)
            if bill is not None and bill.params != params:
                return pc.v3_error(400, "INVALID_REQUEST", "商户单号重复且参数不一致")
            if bill is None:
                if merchant.balance_fen < data["transfer_amount"]:
                    return pc.v3_error(403, "NOT_ENOUGH", "商户运营账户资金不足")
                merchant.balance_fen -= data["transfer_amount"]
                state = "WAIT_USER_CONFIRM" if self.confirm_mode == "user" else "SUCCESS"
                bill = Payment("transfer", number, merchant.mch_id, data["appid"], data["openid"],
                               data["transfer_amount"], state, params,
                               notify_url=data.get("notify_url"))  # fmt: skip
                self.payments[number] = bill
                self.moved[number] += 1
            body = self._bill_json(bill)
        return self._after_fault(fault, pc.v3_signed_reply(
            self.platform, self.pki.platform_public_key_id, body
        ), pc.v3_error(500, "SYSTEM_ERROR", "系统繁忙"))  # fmt: skip

    def _after_fault(self, fault: str | None, ok: Reply, error: Reply) -> Reply:
        if fault == "hold_after":  # the money moved; the answer waits
            self._hold()
        if fault == "systemerror_after":
            return error
        if fault == "drop_after":
            return Reply(0)
        if fault == "timeout_after":
            self._sleep()
        return ok

    def _v3_query(self, request: RecordedRequest) -> Reply:
        merchant = self._v3_auth(request)
        if isinstance(merchant, Reply):
            return merchant
        early = self._v3_pre_fault(self._fault("query"))
        if early is not None:
            return early
        with self._pay_lock:
            bill = self.payments.get(request.path_params["number"])
            if bill is None or bill.mch_id != merchant.mch_id:
                return pc.v3_error(404, "NOT_FOUND", "记录不存在")
            body = self._bill_json(bill)
        return pc.v3_signed_reply(self.platform, self.pki.platform_public_key_id, body)

    def _v3_cancel(self, request: RecordedRequest) -> Reply:
        merchant = self._v3_auth(request)
        if isinstance(merchant, Reply):
            return merchant
        with self._pay_lock:
            bill = self.payments.get(request.path_params["number"])
            if bill is None or bill.mch_id != merchant.mch_id:
                return pc.v3_error(404, "NOT_FOUND", "记录不存在")
            if bill.state == "WAIT_USER_CONFIRM":
                bill.state = "CANCELLED"
                merchant.balance_fen += bill.amount
            elif bill.state != "CANCELLED":
                return pc.v3_error(400, "INVALID_REQUEST", f"单据状态为 {bill.state}，不可撤销")
            body = {"out_bill_no": bill.number, "transfer_bill_no": bill.reference,
                    "state": bill.state, "update_time": _iso(time.time())}  # fmt: skip
        return pc.v3_signed_reply(self.platform, self.pki.platform_public_key_id, body)

    # -- control over HTTP (the fake in another process) -------------------------------------

    def _control(self, request: RecordedRequest) -> Reply:
        op = request.path_params["op"]
        allowed = {"add_merchant", "register_app", "issue_js_code", "inject", "confirm", "expire",
                   "receive", "refund", "stats", "set_mode", "notify_v3", "notify_v2",
                   "set_confirm_mode", "reset", "release", "holding_count"}  # fmt: skip
        if op not in allowed:
            return Reply.json({"error": f"unknown op {op}"}, 404)
        result = getattr(self, op)(**(request.json() if request.body else {}))
        return Reply.json({"result": result})

    def holding_count(self) -> int:
        """How many requests wait at a hold fault."""
        with self._pay_lock:
            return self.holding

    def set_confirm_mode(self, mode: str) -> None:
        """``user`` (bills wait for the shopper) or ``auto`` (bills succeed at once)."""
        self.confirm_mode = mode


def _v3_check(data: Any, merchant: Merchant) -> Reply | None:
    if not isinstance(data, dict):
        return pc.v3_error(400, "PARAM_ERROR", "body")
    number, amount = str(data.get("out_bill_no") or ""), data.get("transfer_amount")
    if not (number.isalnum() and len(number) <= 32):
        return pc.v3_error(400, "PARAM_ERROR", "out_bill_no 格式错误")
    if data.get("appid") not in merchant.appids:
        return pc.v3_error(400, "APPID_MCHID_NOT_MATCH", "appid 与商户号不匹配")
    if not isinstance(amount, int) or amount < 10:
        return pc.v3_error(400, "PARAM_ERROR", "转账金额不能低于0.1元")
    if data.get("transfer_scene_id") == "1000" and len(data.get("transfer_scene_report_infos")
                                                       or []) < 2:  # fmt: skip
        return pc.v3_error(400, "PARAM_ERROR", "现金营销场景需报备活动名称与奖励说明")
    if not data.get("openid"):
        return pc.v3_error(400, "PARAM_ERROR", "openid")
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")


def main() -> None:
    """Serve the fake in this process until killed; prints ``PORT n`` once listening."""
    pki = pki_from_dict(json.loads(Path(sys.argv[1]).read_text()))
    fake = FakeWeChatPay(pki).start()
    print(f"PORT {fake.base_url.rsplit(':', 1)[1].rstrip('/')}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
