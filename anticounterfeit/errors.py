"""Errors of products, code batches and scans."""

from core.errors import Conflict, InvalidInput, NotFound, RateLimited


class InvalidGtin(InvalidInput):
    reason = "invalid_gtin"
    message = "The GTIN is not valid (length or check digit)."


class DuplicateGtin(Conflict):
    reason = "duplicate_gtin"
    message = "A product with this GTIN already exists in this brand."


class DuplicateLot(Conflict):
    reason = "duplicate_lot"
    message = "This product already has a lot with this number."


class UnknownProduct(NotFound):
    reason = "product_not_found"
    message = "No such product."


class UnknownBatch(NotFound):
    reason = "batch_not_found"
    message = "No such batch."


class BatchRevoked(Conflict):
    reason = "batch_revoked"
    message = "This code batch is revoked."


class InvalidTransition(Conflict):
    reason = "invalid_transition"
    message = "The batch cannot go to that status from its current one."


class SerialSpaceExhausted(Conflict):
    reason = "serial_space_exhausted"
    message = "The current code key has no serials left; rotate the key."


class PinLocked(RateLimited):
    reason = "pin_locked"
    message = "Too many wrong PINs for this code; try again in an hour."


class GtinTaken(Conflict):
    reason = "gtin_taken"
    message = "This GTIN is registered by another brand (GS1 assigns company prefixes)."


class KeySpaceExhausted(Conflict):
    reason = "key_space_exhausted"
    message = "Every 16-bit code key id of this deployment is in use."
