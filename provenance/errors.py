"""Errors of provenance: parties, EPCIS capture and stories."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, InvalidInput, NotFound


class InvalidEpcis(InvalidInput):
    """An EPCIS document refused at capture; ``errors`` says what failed, where."""

    reason = "invalid_epcis"
    message = "The EPCIS document is not valid; nothing was stored."

    def __init__(self, problems: list[dict[str, Any]], message: str | None = None) -> None:
        super().__init__(message, errors={"epcis": problems})
        self.problems = problems


class UnknownParty(NotFound):
    reason = "party_not_found"
    message = "No such party."


class UnknownLot(NotFound):
    reason = "lot_not_found"
    message = "No such lot."


class DuplicateParty(Conflict):
    reason = "duplicate_party"
    message = "A party with this identifier (GLN) already exists in this brand."


class InvalidPublicKey(InvalidInput):
    reason = "invalid_public_key"
    message = "The public key is not a base64 raw Ed25519 key (32 bytes)."
