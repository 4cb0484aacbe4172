"""Export cursors: opaque, signed, bound to one stream of one brand.

A cursor is ``"<tx_seq>.<record id>.<signature>"``: the key of the last record read, signed
with itsdangerous under a key derived from ``SECRET_KEY``, the stream and the brand, so a cursor
of another stream or brand, or an altered one, fails the signature. The key is derived once per
page, and each record's cursor costs one HMAC (the export writes one per record).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer

from exports.errors import InvalidCursor

#: Before every record: the key of a stream's beginning.
START_SEQ = -1
START_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class Position:
    """Where a reader stands in a stream: after the record ``(tx_seq, record_id)``."""

    tx_seq: int
    record_id: uuid.UUID

    @property
    def payload(self) -> str:
        return f"{self.tx_seq}.{self.record_id}"


START = Position(START_SEQ, START_ID)


def signer(secret_key: str, stream: str, brand_id: uuid.UUID) -> Signer:
    """The signer of one stream of one brand (its key derived here once, not per record)."""
    message = f"exports.cursor:{stream}:{brand_id}".encode()
    key = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return Signer(key, key_derivation="none", digest_method=hashlib.sha256)


def hmac_pads(signer_: Signer) -> tuple[bytes, bytes]:
    """The signer's key XOR the HMAC inner and outer pads: with them, PostgreSQL computes the
    same HMAC-SHA256 as itsdangerous with its built-in ``sha256`` (no extension), as
    ``sha256(opad || sha256(ipad || message))``."""
    key = signer_.secret_keys[-1]
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


BLOCK = 64  # SHA-256's block size


def sign(signer_: Signer, payload: str) -> str:
    """The cursor of the record whose key reads ``payload`` (``"<tx_seq>.<id>"``)."""
    return signer_.sign(payload).decode()


def read(signer_: Signer, cursor: str | None) -> Position:
    """The position a cursor stands for; no cursor is the beginning."""
    if cursor is None:
        return START
    try:
        payload = signer_.unsign(cursor).decode()
        seq, record_id = payload.split(".")
        return Position(int(seq), uuid.UUID(record_id))
    except (BadSignature, ValueError, UnicodeError) as exc:
        raise InvalidCursor() from exc
