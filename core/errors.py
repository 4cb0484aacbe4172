"""The domain error every package's ``errors.py`` subclasses.

A ``DomainError`` carries a stable ``reason`` and an HTTP status; ``app.py`` turns it into the
JSON error envelope of API.md (or an HTML error page outside the API).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can understand: maps to one HTTP status and a stable reason."""

    reason: str = "error"
    http_status: int = 400
    message: str = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors
        self.details = details

    def headers(self) -> dict[str, str]:
        """Extra response headers (e.g. ``Retry-After``)."""
        return {}


class NotFound(DomainError):
    reason = "not_found"
    http_status = 404
    message = "Not found."


class Forbidden(DomainError):
    reason = "forbidden"
    http_status = 403
    message = "You are not allowed to do this."


class Conflict(DomainError):
    reason = "conflict"
    http_status = 409
    message = "The resource is in a state that does not allow this."


class InvalidInput(DomainError):
    reason = "validation_error"
    http_status = 422
    message = "The request is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        errors: dict[str, Any] | None = None,
        **details: Any,
    ) -> None:
        if errors is None and field:
            errors = {field: [message or self.message]}
        super().__init__(message, errors=errors, **details)


class RateLimited(DomainError):
    reason = "rate_limited"
    http_status = 429
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class DependencyUnavailable(DomainError):
    reason = "dependency_unavailable"
    http_status = 503
    message = "A service we depend on is unavailable; try again shortly."
