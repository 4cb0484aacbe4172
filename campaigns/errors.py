"""Refusals of the campaigns package (each maps to one status and reason of API.md)."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, NotFound


class UnknownCampaign(NotFound):
    reason = "unknown_campaign"
    message = "No such campaign."


class UnknownAward(NotFound):
    reason = "unknown_award"
    message = "No such award."


class UnknownCatalogueItem(NotFound):
    reason = "unknown_item"
    message = "No such catalogue item."


class InvalidTransition(Conflict):
    reason = "invalid_transition"
    message = "The campaign cannot make this transition from its current status."


class InvalidTerms(InvalidInput):
    reason = "invalid_campaign"
    message = "The campaign's terms are not valid."


class UnknownTarget(InvalidInput):
    reason = "unknown_target"
    message = "Targeting names a product or code batch this brand does not have."


class InsufficientPoints(Conflict):
    reason = "insufficient_points"
    message = "The points balance is too low."


class DuplicateRedemption(Conflict):
    reason = "duplicate_redemption"
    message = "This redemption request was already made."


class OutOfStock(Conflict):
    reason = "out_of_stock"
    message = "The item is out of stock."


class ItemUnavailable(Conflict):
    reason = "item_unavailable"
    message = "The item is not available for redemption."


class AwardNotCancellable(Conflict):
    reason = "invalid_transition"
    message = "The award can no longer be cancelled."
