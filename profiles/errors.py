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


class NoticeOutdated(DomainError):
    """The client agreed to a privacy notice version that is not the current one."""

    reason = "notice_outdated"
    http_status = 409
    message = "The privacy notice has changed; show the current version and ask again."


class ScanNotFound(DomainError):
    """No recorded scan of this consumer has this id (scans are recorded within seconds)."""

    reason = "scan_not_found"
    http_status = 404
    message = "No scan of yours with this id (a new scan can be rated a few seconds later)."


class ScanNotRateable(DomainError):
    """Only the consumer's own scans of genuine codes can be rated."""

    reason = "scan_not_rateable"
    http_status = 409
    message = "Only a scan that verified a genuine product can be rated."


class AlreadyRated(DomainError):
    reason = "already_rated"
    http_status = 409
    message = "This scan has already been rated."


class UnknownProduct(DomainError):
    reason = "unknown_product"
    http_status = 422
    message = "A wish names a product this brand does not have."


class SegmentNotFound(DomainError):
    reason = "not_found"
    http_status = 404
    message = "Segment not found."


class InvalidRule(DomainError):
    """A segment rule with an unknown field or operator, a bad value, or a bad shape."""

    reason = "invalid_rule"
    http_status = 422
    message = "The segment rule is not valid."


class RuleTooLarge(DomainError):
    """A segment rule nested too deep or with too many conditions."""

    reason = "rule_too_large"
    http_status = 422
    message = "The segment rule is too large."
