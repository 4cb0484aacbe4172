"""Refusals of the payouts package (each maps to one status and reason of API.md)."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, NotFound


class UnknownPayout(NotFound):
    reason = "unknown_payout"
    message = "No such payout."


class PayoutNotRetryable(Conflict):
    reason = "invalid_transition"
    message = "Only a failed payout can be retried."


class BudgetExhausted(Conflict):
    reason = "budget_exhausted"
    message = "The campaign's budget no longer has this payout's amount."


class PrizeOutsideProviderLimits(InvalidInput):
    reason = "prize_outside_provider_limits"
    message = "A prize is outside what the brand's payout provider can pay."


class PayoutNotConfigured(InvalidInput):
    reason = "payout_not_configured"
    message = "The brand's payout provider is missing settings it needs to pay red packets."
