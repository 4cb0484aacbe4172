"""Errors of fraud cases."""

from core.errors import NotFound


class UnknownCase(NotFound):
    reason = "case_not_found"
    message = "No such fraud case."
