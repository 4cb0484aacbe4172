"""Refusals of the webhooks API."""

from __future__ import annotations

from core.errors import Conflict, DomainError, NotFound


class WebhookNotFound(NotFound):
    reason = "webhook_not_found"
    message = "No such webhook."


class DeliveryNotFound(NotFound):
    reason = "delivery_not_found"
    message = "No such delivery."


class WebhookUrlForbidden(DomainError):
    """Not http(s), or it points at an address the service must not call (SSRF)."""

    reason = "webhook_url_forbidden"
    http_status = 422
    message = "This URL may not receive webhooks."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, errors={"url": [message or self.message]})


class WebhookUrlUnresolvable(DomainError):
    reason = "webhook_url_unresolvable"
    http_status = 422
    message = "The URL's host name does not resolve."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, errors={"url": [message or self.message]})


class UnknownEvent(DomainError):
    reason = "unknown_event"
    http_status = 422
    message = "Unknown event name."


class WebhookDisabled(Conflict):
    reason = "webhook_disabled"
    message = "The webhook is disabled: enable it first."
