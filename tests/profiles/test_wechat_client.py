"""Mini-program login through the real wechatpy client against the fake WeChat server."""

from __future__ import annotations

import socket
import traceback

import pytest
import requests

from profiles.errors import WechatLoginFailed, WechatUnavailable
from profiles.wechat import WechatSession, build_client, code_to_session
from tests.fakewechat import FakeWeChat

APPID = "wx1234567890abcdef"
SECRET = "s3cr3t-app-secret-0123456789abcd"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


@pytest.fixture
def wechat(fake_wechat: FakeWeChat) -> FakeWeChat:
    fake_wechat.register_app(APPID, SECRET)
    return fake_wechat


def login(fake: FakeWeChat, js_code: str, **kwargs: object) -> WechatSession:
    options: dict = {"base_url": fake.base_url, "timeout": 2.0, **kwargs}
    secret = options.pop("secret", SECRET)
    return code_to_session(APPID, secret, js_code, **options)


def assert_no_token_fetch(fake: FakeWeChat) -> None:
    assert fake.requests, "the client never reached the fake"
    assert fake.requests_to("/cgi-bin/token") == []
    assert {request.path for request in fake.requests} == {"/sns/jscode2session"}


def test_login_without_unionid(wechat: FakeWeChat) -> None:
    session = login(wechat, wechat.issue_js_code(APPID, OPENID))

    assert session.openid == OPENID
    assert session.unionid is None
    assert session.session_key == wechat.session_key_for(APPID, OPENID)
    assert session.session_key not in repr(session)


def test_login_with_unionid(wechat: FakeWeChat) -> None:
    session = login(wechat, wechat.issue_js_code(APPID, OPENID, unionid="oUnion42"))

    assert session == WechatSession(OPENID, wechat.session_key_for(APPID, OPENID), "oUnion42")


def test_request_carries_exactly_the_login_parameters(wechat: FakeWeChat) -> None:
    code = wechat.issue_js_code(APPID, OPENID)
    login(wechat, code)

    [request] = wechat.requests
    assert (request.method, request.path) == ("GET", "/sns/jscode2session")
    assert request.query == {
        "appid": APPID,
        "secret": SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
    }


def test_code_is_single_use(wechat: FakeWeChat) -> None:
    code = wechat.issue_js_code(APPID, OPENID)
    login(wechat, code)

    with pytest.raises(WechatLoginFailed) as caught:
        login(wechat, code)
    assert caught.value.details == {"errcode": 40163}
    assert caught.value.http_status == 401
    assert_no_token_fetch(wechat)


def high_risk_user_code(fake: FakeWeChat) -> str:
    fake.mark_high_risk(OPENID)
    return fake.issue_js_code(APPID, OPENID)


@pytest.mark.parametrize(
    ("arrange", "errcode"),
    [
        pytest.param(lambda fake: "never-issued-code", 40029, id="unknown code"),
        pytest.param(lambda fake: fake.issue_js_code("wxother", OPENID), 40029, id="other app"),
        pytest.param(high_risk_user_code, 40226, id="high risk"),
    ],
)
def test_refused_code(wechat: FakeWeChat, arrange, errcode: int) -> None:
    code = arrange(wechat)

    with pytest.raises(WechatLoginFailed) as caught:
        login(wechat, code)
    assert caught.value.details == {"errcode": errcode}
    assert caught.value.reason == "wechat_login_failed"
    assert_no_token_fetch(wechat)


def test_wrong_secret_is_refused_without_leaking_it(wechat: FakeWeChat) -> None:
    wrong = "wrong-secret-value-abcdef"
    with pytest.raises(WechatLoginFailed) as caught:
        login(wechat, wechat.issue_js_code(APPID, OPENID), secret=wrong)

    assert caught.value.details == {"errcode": 40125}
    assert wrong not in "".join(traceback.format_exception(caught.value))
    assert_no_token_fetch(wechat)


def test_unknown_appid_is_refused(fake_wechat: FakeWeChat) -> None:
    with pytest.raises(WechatLoginFailed) as caught:
        login(fake_wechat, fake_wechat.issue_js_code(APPID, OPENID))

    assert caught.value.details == {"errcode": 40013}
    assert_no_token_fetch(fake_wechat)


@pytest.mark.parametrize(
    ("mode", "details"),
    [
        ("busy", {"errcode": -1}),
        ("rate_limited", {"errcode": 45011}),
        ("down", {"upstream_status": 503}),
        ("garbage", {"error": "not_json"}),
    ],
)
def test_wechat_trouble_is_unavailable(wechat: FakeWeChat, mode: str, details: dict) -> None:
    code = wechat.issue_js_code(APPID, OPENID)
    wechat.set_mode(mode)

    with pytest.raises(WechatUnavailable) as caught:
        login(wechat, code)
    assert caught.value.details == details
    assert (caught.value.reason, caught.value.http_status) == ("wechat_unavailable", 503)
    assert_no_token_fetch(wechat)


def test_code_survives_a_busy_answer(wechat: FakeWeChat) -> None:
    code = wechat.issue_js_code(APPID, OPENID)
    wechat.set_mode("busy")
    with pytest.raises(WechatUnavailable):
        login(wechat, code)

    wechat.set_mode("normal")
    assert login(wechat, code).openid == OPENID


def test_slow_wechat_times_out_quickly(wechat: FakeWeChat) -> None:
    code = wechat.issue_js_code(APPID, OPENID)
    wechat.set_mode("slow")

    with pytest.raises(WechatUnavailable) as caught:  # the slow fake answers after 5 s
        login(wechat, code, timeout=0.5)
    assert caught.value.details == {"error": "ReadTimeout"}


def test_slow_wechat_within_timeout_succeeds(wechat: FakeWeChat) -> None:
    wechat.set_mode("slow")
    wechat.slow_seconds = 0.2

    assert login(wechat, wechat.issue_js_code(APPID, OPENID), timeout=5).openid == OPENID


def test_unreachable_wechat_is_unavailable_without_leaking_the_secret() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(WechatUnavailable) as caught:
        code_to_session(APPID, SECRET, "code", base_url=f"http://127.0.0.1:{port}", timeout=1)
    assert caught.value.details == {"error": "ConnectionError"}
    assert SECRET not in "".join(traceback.format_exception(caught.value))


def test_fake_refuses_access_token_fetches(fake_wechat: FakeWeChat) -> None:
    # Makes the "no /cgi-bin/token request" assertions above meaningful: a fetch would fail.
    answer = requests.get(
        fake_wechat.base_url + "cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
        timeout=2,
    )
    assert answer.headers["Content-Type"] == "text/plain"
    assert answer.json()["errcode"] == 40013
    assert fake_wechat.requests_to("/cgi-bin/token")[0].query["appid"] == APPID


def test_client_trusts_only_the_given_ca_bundle(fake_wechat: FakeWeChat) -> None:
    client = build_client(
        APPID, SECRET, base_url=fake_wechat.base_url, timeout=1, ca_bundle="/tmp/ca.pem"
    )

    assert client._http.trust_env is False
    assert client._http.verify == "/tmp/ca.pem"
