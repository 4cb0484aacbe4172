"""A brand configured for each provider pays a winning shopper, end to end.

The fake WeChat (login and Pay, over TLS) runs as a separate process and is driven over HTTP;
the app is served over HTTP on loopback (so the fake can deliver its notifications); a real RQ
worker (``flask --app app worker``) pays; PostgreSQL and Redis are real. The shopper logs in
with a ``wx.login`` code, scans, gets the ``client_action``, confirms in "WeChat", and WeChat's
notification marks the red packet paid.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from tests.fakewechat.pki import pki_to_dict
from tests.payouts.conftest import API_KEY, APIV3_KEY, MINIPROGRAM_APPID, OA_APPID
from tests.payouts.test_crash import _worker_env
from tests.payouts.workers import ROOT, WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.realservices]
SECRET = "mini-program-secret"


class Fake:
    """The fake WeChat process, driven over HTTP."""

    def __init__(self, pki: Any, tmp: Path) -> None:
        (tmp / "pki.json").write_text(json.dumps(pki_to_dict(pki)))
        command = [sys.executable, "-m", "tests.fakewechat.pay", str(tmp / "pki.json")]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        port = self.proc.stdout.readline().decode().split()[1]
        self.base_url, self.ca = f"https://127.0.0.1:{port}/", str(pki.ca)

    def __call__(self, op: str, **kwargs: Any) -> Any:
        answer = requests.post(
            f"{self.base_url}_fake/{op}", json=kwargs, verify=self.ca, timeout=10
        )
        answer.raise_for_status()
        return answer.json()["result"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def stack(app: Any, committed: None, pay_pki: Any, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The fake process, the app on a loopback port, and a worker subprocess."""
    fake = Fake(pay_pki, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    keys = {"WECHAT_PAY_API_BASE_URL": fake.base_url, "WECHAT_API_BASE_URL": fake.base_url,
            "WECHAT_PAY_CA_BUNDLE": fake.ca, "WECHAT_PAY_NOTIFY_BASE_URL": url,
            "WECHAT_APPID": None, "WECHAT_SECRET": None}  # fmt: skip
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(keys)
    fake("add_merchant", mch_id=pay_pki.mch_id, api_key=API_KEY, apiv3_key=APIV3_KEY,
         appids=[MINIPROGRAM_APPID, OA_APPID])  # fmt: skip
    fake("register_app", appid=MINIPROGRAM_APPID, secret=SECRET)
    env = {**_worker_env(app, fake, pay_pki), "PAYOUT_PROVIDER": "sandbox",
           "WECHAT_PAY_NOTIFY_BASE_URL": url}  # fmt: skip
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        from core.broker import redis_client

        worker.ready(redis_client())
        yield {"fake": fake, "url": url, "worker": worker, "log": tmp_path / "worker.log"}
    finally:
        worker.stop()
        server.shutdown()
        fake.stop()
        app.config.update(saved)


def _until(get: Any, want: str, timeout: float = 30) -> dict[str, Any]:
    deadline, body = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        body = get()
        if body.get("status") == want:
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"still {body.get('status')!r}, wanted {want!r}: {body}")


@pytest.mark.parametrize("provider", ["wechat_v3_transfer", "wechat_v2_miniprogram_redpack",
                                      "wechat_v2_redpack", "sandbox"])  # fmt: skip
def test_a_winning_shopper_is_paid_end_to_end(
    provider: str, stack: dict[str, Any], make_brand: Any, make_codes: Any, pay_pki: Any,
    bearer: Any,
) -> None:  # fmt: skip
    from core.db import db
    from profiles.models import WechatIdentity
    from tests.payouts.conftest import brand_credentials

    fake, url = stack["fake"], stack["url"]
    owner = make_brand()
    codes = make_codes(owner=owner)
    db.commit()
    staff = {**bearer(owner)}
    creds = {k: v for k, v in brand_credentials(pay_pki, provider).items()}
    creds["settings"] = {**creds["settings"], "fraud_hold_payouts": False}
    creds["wechat_secret"] = SECRET
    answer = requests.patch(f"{url}/api/v1/brand", json=creds, headers=staff, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["payout_provider"] == provider
    campaign = requests.post(f"{url}/api/v1/campaigns", headers=staff, timeout=10, json={
        "name": "端到端红包", "kind": "red_packet", "budget_fen": 10_000,
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z",
        "prizes": [{"amount_fen": 150, "probability": 1.0}]}).json()  # fmt: skip
    activated = requests.post(f"{url}/api/v1/campaigns/{campaign['id']}/activate",
                              headers=staff, timeout=10)  # fmt: skip
    assert activated.status_code == 200, activated.text
    js_code = fake("issue_js_code", appid=MINIPROGRAM_APPID, openid="oShopperE2E",
                   unionid="uShopperE2E")  # fmt: skip
    login = requests.post(f"{url}/api/v1/auth/wechat", timeout=10,
                          json={"brand": owner.brand.slug, "js_code": js_code}).json()  # fmt: skip
    shopper = {"Authorization": f"Bearer {login['access_token']}"}
    if provider == "wechat_v2_redpack":  # cash red packets go to the Official Account openid
        import uuid

        db.session.add(WechatIdentity(brand_id=owner.brand.id, appid=OA_APPID,
                                      consumer_id=uuid.UUID(login["consumer"]["id"]),
                                      openid="oShopperOA", unionid="uShopperE2E"))  # fmt: skip
        db.commit()
    scan = requests.post(f"{url}/api/v1/scans", headers=shopper, timeout=10,
                         json={"code": codes.urls[0], "scene": 1011}).json()  # fmt: skip
    [reward] = scan["rewards"]
    mine = f"{url}/api/v1/me/awards/{reward['award_id']}"

    def award() -> dict[str, Any]:
        return requests.get(mine, headers=shopper, timeout=10).json()  # type: ignore[no-any-return]

    if provider == "sandbox":
        _until(award, "paid")
        return
    waiting = _until(award, "awaiting_user")
    number = waiting["payout"]["out_trade_no"]
    action = waiting["client_action"]
    if provider == "wechat_v3_transfer":
        assert action["api"] == "wx.requestMerchantTransfer" and action["params"]["package"]
        fake("confirm", number=number)  # the shopper confirms in WeChat
        assert fake("notify_v3", number=number) == 204  # to our notify_url
    else:
        if provider == "wechat_v2_miniprogram_redpack":
            assert action["api"] == "wx.sendBizRedPacket" and action["params"]["paySign"]
        else:
            assert action is None
        fake("receive", number=number)  # the shopper opens it
        assert fake("notify_v2", number=number, url=f"{url}/wechat/pay/notify/v2") == 200
    paid = _until(award, "paid")
    assert paid["payout"]["paid_at"] and paid["client_action"] is None
    assert fake("stats")["moved"] == {number: 1}
    detail = requests.get(f"{url}/api/v1/payouts/{reward['award_id']}", headers=staff,
                          timeout=10).json()  # fmt: skip
    assert [e["to"] for e in detail["events"] if e["kind"] == "transition"] == [
        "processing", "awaiting_user", "paid"]  # fmt: skip
