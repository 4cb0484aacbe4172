"""Refusals of the export and audit-log endpoints."""

from __future__ import annotations

from core.errors import DomainError, NotFound


class InvalidCursor(DomainError):
    reason = "invalid_cursor"
    http_status = 422
    message = "The cursor is not one this stream gave out for this brand (or it was altered)."


class UnknownStream(NotFound):
    reason = "unknown_stream"
    message = "No such export stream."
