"""Consumers: WeChat login and identity linking."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts import tokens
from accounts.models import Brand
from accounts.service import IssuedToken, miniprogram_credentials
from core.broker import redis_client
from core.db import db, utcnow
from core.ratelimit import Limit, hit
from profiles.errors import WechatNotConfigured
from profiles.models import Consumer, WechatIdentity
from profiles.wechat import WechatSession, code_to_session

WECHAT_LOGIN_PER_IP = Limit("wxlogin-ip", count=60, seconds=60)


@dataclass(frozen=True)
class WechatLogin:
    """A mini-program login: the brand's slug and the code from ``wx.login()``."""

    brand: str
    js_code: str


@dataclass(frozen=True)
class ConsumerLogin:
    """The outcome of a WeChat login."""

    consumer: Consumer
    is_new: bool
    token: IssuedToken


def issue_consumer_token(consumer: Consumer) -> IssuedToken:
    """A bearer token for ``consumer``."""
    claims = tokens.TokenClaims("consumer", str(consumer.id), str(consumer.brand_id))
    token = tokens.issue(current_app.config["SECRET_KEY"], claims)
    return IssuedToken(token, tokens.TTL_SECONDS["consumer"])


def login_with_wechat(brand: Brand, js_code: str, *, ip: str) -> ConsumerLogin:
    """Exchange a wx.login() code for a consumer of ``brand`` (the same openid, the same one)."""
    if current_app.config["RATELIMIT_ENABLED"]:
        hit(redis_client(), WECHAT_LOGIN_PER_IP, ip)
    credentials = miniprogram_credentials(brand)
    if credentials is None:
        raise WechatNotConfigured()
    session = code_to_session(
        credentials.appid,
        credentials.secret,
        js_code,
        base_url=current_app.config["WECHAT_API_BASE_URL"],
        timeout=current_app.config["WECHAT_TIMEOUT_SECONDS"],
        ca_bundle=current_app.config["WECHAT_PAY_CA_BUNDLE"],
    )
    consumer, is_new = resolve_consumer(brand, credentials.appid, session)
    consumer.last_login_at = utcnow()
    return ConsumerLogin(consumer, is_new, issue_consumer_token(consumer))


def _find_identity(brand: Brand, appid: str, openid: str) -> WechatIdentity | None:
    return db.session.scalar(
        select(WechatIdentity).where(
            WechatIdentity.brand_id == brand.id,
            WechatIdentity.appid == appid,
            WechatIdentity.openid == openid,
        )
    )


def _consumer_by_unionid(brand: Brand, unionid: str | None) -> Consumer | None:
    if not unionid:
        return None
    identity = db.session.scalar(
        select(WechatIdentity)
        .where(WechatIdentity.brand_id == brand.id, WechatIdentity.unionid == unionid)
        .limit(1)
    )
    return identity.consumer if identity else None


def resolve_consumer(brand: Brand, appid: str, wx: WechatSession) -> tuple[Consumer, bool]:
    """The consumer for this openid, linked by unionid or created; safe under concurrent logins."""
    identity = _find_identity(brand, appid, wx.openid)
    if identity is not None:
        if wx.unionid and identity.unionid != wx.unionid:
            identity.unionid = wx.unionid
        return identity.consumer, False
    consumer = _consumer_by_unionid(brand, wx.unionid)
    is_new = consumer is None
    try:
        with db.session.begin_nested():
            if consumer is None:
                consumer = Consumer(brand_id=brand.id)
                db.session.add(consumer)
            db.session.add(
                WechatIdentity(
                    brand_id=brand.id,
                    consumer=consumer,
                    appid=appid,
                    openid=wx.openid,
                    unionid=wx.unionid,
                )
            )
    except IntegrityError:
        # A concurrent login of the same openid won the insert: use its consumer.
        identity = _find_identity(brand, appid, wx.openid)
        if identity is None:
            raise
        return identity.consumer, False
    return consumer, is_new
