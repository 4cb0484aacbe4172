"""Domain errors of the profiles package."""

from __future__ import annotations

from core.errors import DependencyUnavailable, DomainError


class WechatLoginFailed(DomainError):
    """WeChat refused the login code (invalid, used, high-risk user or bad app credentials)."""

    reason = "wechat_login_failed"
    http_status = 401
    message = "WeChat login failed; call wx.login() again and retry with the new code."


class WechatUnavailable(DependencyUnavailable):
    """WeChat was busy, rate-limited, unreachable or answered something we cannot read."""

    reason = "wechat_unavailable"
    http_status = 503
    message = "WeChat is unavailable; try again shortly."


class WechatNotConfigured(DependencyUnavailable):
    """Neither the brand nor the deployment has mini-program credentials."""

    reason = "wechat_not_configured"
    http_status = 503
    message = "WeChat login is not configured for this brand."
