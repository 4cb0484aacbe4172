"""Refusals of the fraud package."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, NotFound


class UnknownCase(NotFound):
    reason = "unknown_case"
    message = "No such fraud case."


class UnknownRule(NotFound):
    reason = "unknown_rule"
    message = "No such fraud rule."


class UnknownBlock(NotFound):
    reason = "unknown_block"
    message = "No such block."


class AlreadyResolved(Conflict):
    reason = "already_resolved"
    message = "This case has already been resolved."


class AlreadyAppealed(Conflict):
    reason = "already_appealed"
    message = "This reward has already been appealed."


class NotAppealable(Conflict):
    reason = "not_appealable"
    message = "Only a reward under review or rejected after review can be appealed."


class InvalidRuleParams(InvalidInput):
    reason = "invalid_rule_params"
    message = "The rule's parameters are not valid."
