"""Reading a scanned code (unit, case or pallet; or an SSCC) into a node of the hierarchy.

Signed codes are verified from memory (the key ring and the batch cache, as the consumer scan
does); an SSCC (``{base}/00/{sscc}`` or the 18 digits) is checked by its GS1 check digit and is
always a pallet of the brand that packed it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from anticounterfeit import codes, gs1
from anticounterfeit.keys import keyring
from anticounterfeit.scans.batchcache import BatchInfo, batch_cache
from channel.errors import InvalidCode, UnknownCode
from core.broker import redis_client

SSCC_PREFIX = "sscc:"
_SSCC = re.compile(r"(?:(?:https?://[^/?#\s]+)?/00/)?([0-9]{18})")
LEVELS = {"unit": 0, "case": 1, "pallet": 2}


@dataclass(frozen=True)
class Node:
    """A code in the packaging hierarchy."""

    ref: str
    level: str
    batch: BatchInfo | None = None  # None for an SSCC
    serial: int | None = None

    @property
    def code_key_id(self) -> uuid.UUID | None:
        """The code key row of a signed code."""
        return self.batch.code_key_id if self.batch else None


def signed_ref(code_key_id: uuid.UUID, serial: int) -> str:
    """The ref of a signed code."""
    return f"{code_key_id}:{serial}"


def split_ref(ref: str) -> tuple[uuid.UUID, int] | None:
    """(code key, serial) of a signed code's ref; None for an SSCC."""
    if ref.startswith(SSCC_PREFIX):
        return None
    key, _, serial = ref.partition(":")
    return uuid.UUID(key), int(serial)


def _sscc(text: str) -> str | None:
    found = _SSCC.fullmatch(text.strip())
    if found is None:
        return None
    digits = found[1]
    if gs1.gtin_check_digit(digits[:-1]) != int(digits[-1]):
        raise InvalidCode("The SSCC's check digit is wrong.")
    return digits


def parse(text: str, brand_id: uuid.UUID) -> Node:
    """The node of a scanned code of ``brand_id``: InvalidCode if forged, UnknownCode if another
    brand's (as if it did not exist)."""
    if not isinstance(text, str) or len(text) > gs1.MAX_SCANNED_LENGTH:
        raise InvalidCode()
    sscc = _sscc(text)
    if sscc is not None:
        return Node(SSCC_PREFIX + sscc, "pallet")
    try:
        scanned = gs1.parse_scanned(text)
        loaded = keyring().lookup(codes.parse_key_id(scanned.code))
    except codes.MalformedCode as exc:
        raise InvalidCode() from exc
    decoded = codes.verify(scanned.code, loaded.key) if loaded and not loaded.revoked else None
    if loaded is None or decoded is None:
        raise InvalidCode()
    batch, _ = batch_cache().lookup(redis_client(), loaded.record_id, decoded.serial)
    if batch is None or (scanned.gtin is not None and scanned.gtin != batch.product.gtin):
        raise InvalidCode()
    if batch.brand_id != brand_id:
        raise UnknownCode()
    return Node(signed_ref(loaded.record_id, decoded.serial), batch.level, batch, decoded.serial)
