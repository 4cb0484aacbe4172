"""Mini-program login: WeChat's jscode2session through the real wechatpy client."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from profiles.errors import WechatLoginFailed, WechatUnavailable

WECHAT_API_BASE_URL = "https://api.weixin.qq.com/"

# Answers that refuse this login (bad/used code, high-risk user, wrong app credentials);
# any other errcode (-1 busy, 45011 rate limit, ...) means WeChat cannot serve us right now.
LOGIN_REFUSED_ERRCODES = frozenset({40013, 40029, 40125, 40163, 40226, 41008})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WechatSession:
    """One successful jscode2session answer."""

    openid: str
    session_key: str = field(repr=False)  # decrypts the user's data: keep it out of logs
    unionid: str | None


class BaseUrlAdapter(HTTPAdapter):
    """A transport adapter that sends requests for ``prefix`` to ``base_url`` instead."""

    def __init__(self, prefix: str, base_url: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.base_url = base_url

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Rewrite the URL prefix, then send as usual."""
        url = request.url or ""
        if url.startswith(self.prefix):
            request.url = self.base_url + url[len(self.prefix) :]
        return super().send(request, *args, **kwargs)


def code_to_session(
    appid: str,
    secret: str,
    js_code: str,
    *,
    base_url: str,
    timeout: float = 5.0,
    ca_bundle: str | None = None,
) -> WechatSession:
    """Exchange a ``wx.login()`` code for the user's openid, session_key and unionid."""
    client = build_client(appid, secret, base_url=base_url, timeout=timeout, ca_bundle=ca_bundle)
    try:
        result = _jscode2session(client, appid, secret, js_code)
    finally:
        client._http.close()
    return _session_from(result)


def build_client(
    appid: str, secret: str, *, base_url: str, timeout: float, ca_bundle: str | None = None
) -> WeChatClient:
    """A wechatpy client whose api.weixin.qq.com traffic goes to ``base_url``."""
    # auto_retry would fetch an access_token on 40001-like answers; login never needs one.
    client = WeChatClient(appid, secret, timeout=timeout, auto_retry=False)
    http: requests.Session = client._http
    http.trust_env = False  # else REQUESTS_CA_BUNDLE and proxy variables override us
    if ca_bundle:
        http.verify = ca_bundle
    base_url = base_url.rstrip("/") + "/"
    if base_url != WECHAT_API_BASE_URL:
        http.mount(WECHAT_API_BASE_URL, BaseUrlAdapter(WECHAT_API_BASE_URL, base_url))
    return client


def _jscode2session(client: WeChatClient, appid: str, secret: str, js_code: str) -> Any:
    params = {
        "appid": appid,
        "secret": secret,
        "js_code": js_code,
        "grant_type": "authorization_code",
        # Present but None: wechatpy skips its access_token fetch, requests drops the param.
        "access_token": None,
    }
    try:
        return client.wxa._get("sns/jscode2session", params=params)
    except WeChatClientException as exc:
        raise _error_from_wechat(exc) from None
    except requests.RequestException as exc:
        # No chaining: requests' messages carry the URL, and the URL carries the secret.
        log.warning("WeChat jscode2session unreachable: %s", type(exc).__name__)
        raise WechatUnavailable(error=type(exc).__name__) from None


def _error_from_wechat(exc: WeChatClientException) -> WechatLoginFailed | WechatUnavailable:
    errcode = exc.errcode
    if errcode is None:  # wechatpy's wrapper for an HTTP 4xx/5xx status
        status = exc.response.status_code if exc.response is not None else None
        log.warning("WeChat jscode2session answered HTTP %s", status)
        return WechatUnavailable(upstream_status=status)
    log.warning("WeChat jscode2session errcode=%s errmsg=%s", errcode, exc.errmsg)
    if errcode in LOGIN_REFUSED_ERRCODES:
        return WechatLoginFailed(errcode=errcode)
    return WechatUnavailable(errcode=errcode)


def _session_from(result: Any) -> WechatSession:
    # wechatpy hands back the raw Response when the body is not JSON (an HTML error page).
    if not isinstance(result, dict):
        log.warning("WeChat jscode2session answered a non-JSON body")
        raise WechatUnavailable(error="not_json")
    openid, session_key, unionid = (result.get(k) for k in ("openid", "session_key", "unionid"))
    if not (isinstance(openid, str) and openid and isinstance(session_key, str) and session_key):
        log.warning("WeChat jscode2session answer lacks openid or session_key")
        raise WechatUnavailable(error="incomplete_answer")
    if not (isinstance(unionid, str) and unionid):
        unionid = None
    return WechatSession(openid, session_key, unionid)
