"""Signed claims: Ed25519 over the RFC 8785 canonical JSON of the claim without ``signature``.

A claim is ``{"statement", "party_id", "issued_at", "signature"}``. It is *verified* only when the
signature checks out under the Ed25519 public key registered for the party it names; an unknown
party, a party without a key, a malformed or wrong signature all read as unverified.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provenance.canonical import NotCanonicalisable, canonicalize

SIGNED_FIELDS = ("statement", "party_id", "issued_at")


@dataclass(frozen=True)
class ClaimText:
    """What a party signs."""

    statement: str
    party_id: str
    issued_at: str

    def payload(self) -> bytes:
        """The canonical bytes that the signature covers."""
        return canonicalize(
            {"statement": self.statement, "party_id": self.party_id, "issued_at": self.issued_at}
        )


def decode_public_key(text: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key from base64; ValueError when it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(claim: ClaimText, private_key: Ed25519PrivateKey) -> str:
    """The base64 signature of a claim (used by parties' tools, the demo and tests)."""
    return base64.b64encode(private_key.sign(claim.payload())).decode("ascii")


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    """The base64 raw public key of a private key, as parties register it."""
    raw = private_key.public_key().public_bytes_raw()
    return base64.b64encode(raw).decode("ascii")


def verify(claim: ClaimText, signature: str | None, public_key: str | None) -> bool:
    """Whether ``signature`` is the party's Ed25519 signature of the claim."""
    if not signature or not public_key:
        return False
    try:
        key = decode_public_key(public_key)
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, claim.payload())
    except (ValueError, binascii.Error, InvalidSignature, NotCanonicalisable):
        return False
    return True


def claim_json(claim: ClaimText, signature: str | None) -> dict[str, Any]:
    """A claim as EPCIS documents carry it."""
    body: dict[str, Any] = {
        "statement": claim.statement,
        "party_id": claim.party_id,
        "issued_at": claim.issued_at,
    }
    if signature is not None:
        body["signature"] = signature
    return body
