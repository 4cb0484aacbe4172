"""``POST /api/v1/auth/wechat`` through the real wechatpy client and the fake WeChat."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.test_app import assert_envelope


@pytest.fixture
def brand(make_brand: Any, fake_wechat: Any) -> Any:
    fake_wechat.register_app("wxbrand", "brand-secret")
    return make_brand("acme", wechat_appid="wxbrand", wechat_secret="brand-secret").brand


def wx_login(client: FlaskClient, js_code: str, slug: str = "acme") -> Any:
    return client.post("/api/v1/auth/wechat", json={"brand": slug, "js_code": js_code})


def count_consumers() -> int:
    from core.db import db
    from profiles.models import Consumer

    return int(db.session.scalar(select(func.count()).select_from(Consumer)) or 0)


def test_login_creates_then_finds_consumer(
    client: FlaskClient, brand: Any, fake_wechat: Any
) -> None:
    first = wx_login(client, fake_wechat.issue_js_code("wxbrand", "openid-1"))
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 604800
    assert body["consumer"]["is_new"] is True
    again = wx_login(client, fake_wechat.issue_js_code("wxbrand", "openid-1")).get_json()
    assert again["consumer"] == {"id": body["consumer"]["id"], "is_new": False}
    assert count_consumers() == 1
    sent = fake_wechat.requests_to("/sns/jscode2session")[0].query
    assert sent["appid"] == "wxbrand" and sent["secret"] == "brand-secret"
    assert fake_wechat.requests_to("/cgi-bin/token") == []


def test_unionid_links_identities(client: FlaskClient, brand: Any, fake_wechat: Any) -> None:
    a = wx_login(client, fake_wechat.issue_js_code("wxbrand", "openid-a", unionid="u-1")).get_json()
    from core.db import db
    from profiles.models import WechatIdentity

    identity = db.session.scalar(select(WechatIdentity).where(WechatIdentity.openid == "openid-a"))
    assert identity is not None and identity.unionid == "u-1"
    assert a["consumer"]["is_new"] is True


def test_consumer_token_works_and_is_not_staff(
    client: FlaskClient, brand: Any, fake_wechat: Any
) -> None:
    token = wx_login(client, fake_wechat.issue_js_code("wxbrand", "o")).get_json()["access_token"]
    response = client.get("/api/v1/brand", headers={"Authorization": f"Bearer {token}"})
    assert_envelope(response, 403, "wrong_token_kind")


@pytest.mark.parametrize("mode", ["reused", "invalid"])
def test_rejected_codes_are_401(
    client: FlaskClient, brand: Any, fake_wechat: Any, mode: str
) -> None:
    code = fake_wechat.issue_js_code("wxbrand", "o")
    if mode == "reused":
        assert wx_login(client, code).status_code == 200
    else:
        code = "never-issued"
    before = count_consumers()
    assert_envelope(wx_login(client, code), 401, "wechat_login_failed")
    assert count_consumers() == before


@pytest.mark.parametrize("mode", ["busy", "slow", "down", "rate_limited"])
def test_wechat_trouble_is_503(
    client: FlaskClient, brand: Any, fake_wechat: Any, mode: str
) -> None:
    fake_wechat.slow_seconds = 3
    fake_wechat.set_mode(mode)
    response = wx_login(client, fake_wechat.issue_js_code("wxbrand", "o"))
    assert_envelope(response, 503, "wechat_unavailable")
    assert count_consumers() == 0


def test_unknown_brand_is_404(client: FlaskClient, brand: Any) -> None:
    assert_envelope(wx_login(client, "x", slug="nobody"), 404, "not_found")


def test_process_defaults_apply_without_brand_credentials(
    app: Flask, client: FlaskClient, make_brand: Any, fake_wechat: Any, monkeypatch: Any
) -> None:
    make_brand("plain")
    assert_envelope(wx_login(client, "x", slug="plain"), 503, "wechat_not_configured")
    fake_wechat.register_app("wxdefault", "default-secret")
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wxdefault")
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "default-secret")
    response = wx_login(client, fake_wechat.issue_js_code("wxdefault", "o"), slug="plain")
    assert response.status_code == 200


def test_missing_fields(client: FlaskClient) -> None:
    body = assert_envelope(client.post("/api/v1/auth/wechat", json={}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"brand", "js_code"}


@pytest.mark.realservices
def test_concurrent_first_logins_make_one_consumer(
    app: Flask, committed: None, make_brand: Any, fake_wechat: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.db import db

    fake_wechat.register_app("wxbrand", "brand-secret")
    make_brand("acme", wechat_appid="wxbrand", wechat_secret="brand-secret")
    db.commit()
    codes = [fake_wechat.issue_js_code("wxbrand", "same-openid") for _ in range(8)]

    def go(code: str) -> Any:
        return wx_login(app.test_client(), code).get_json()

    # Eight logins and the fake server share one interpreter: on a loaded machine the default
    # 1 s test timeout can expire before the fake answers, which is not what this test is about.
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT_SECONDS", 10.0)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(go, codes))
    assert {r["consumer"]["id"] for r in results} == {results[0]["consumer"]["id"]}
    assert sum(r["consumer"]["is_new"] for r in results) == 1
    assert count_consumers() == 1
