"""Consumer login through WeChat."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import client_ip
from accounts.service import get_brand_by_slug
from profiles import service
from profiles.schemas import ConsumerTokenSchema, WechatLoginSchema

blp = Blueprint("profiles", __name__, url_prefix="/api/v1", description="Consumers")


@blp.post("/auth/wechat")
@blp.arguments(WechatLoginSchema)
@blp.response(200, ConsumerTokenSchema)
def wechat_login(body: service.WechatLogin) -> dict[str, Any]:
    """Log a shopper in with the code from ``wx.login()``."""
    login = service.login_with_wechat(get_brand_by_slug(body.brand), body.js_code, ip=client_ip())
    return {
        "access_token": login.token.access_token,
        "expires_in": login.token.expires_in,
        "consumer": {"id": login.consumer.id, "is_new": login.is_new},
    }
