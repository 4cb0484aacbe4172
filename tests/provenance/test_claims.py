"""Claims verify only under the key of the party they name, over the exact signed text."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provenance import claims


def _signed() -> tuple[claims.ClaimText, str, str]:
    key = Ed25519PrivateKey.generate()
    text = claims.ClaimText("Organic pasture", "party-1", "2026-09-15T06:00:00+08:00")
    return text, claims.sign(text, key), claims.public_key_text(key)


def test_a_signed_claim_verifies_under_its_key() -> None:
    text, signature, public = _signed()
    assert claims.verify(text, signature, public)


def test_the_signature_covers_the_rfc_8785_form_of_the_claim() -> None:
    key = Ed25519PrivateKey.generate()
    text = claims.ClaimText("x", "p", "t")
    expected = b'{"issued_at":"t","party_id":"p","statement":"x"}'
    assert text.payload() == expected
    key.public_key().verify(base64.b64decode(claims.sign(text, key)), expected)


def test_any_change_or_another_key_fails() -> None:
    text, signature, public = _signed()
    other = claims.public_key_text(Ed25519PrivateKey.generate())
    assert not claims.verify(claims.ClaimText("Organic!", text.party_id, text.issued_at),
                             signature, public)  # fmt: skip
    assert not claims.verify(claims.ClaimText(text.statement, "party-2", text.issued_at),
                             signature, public)  # fmt: skip
    assert not claims.verify(text, signature, other)
    assert not claims.verify(text, None, public)
    assert not claims.verify(text, signature, None)
    assert not claims.verify(text, "not base64!", public)
    assert not claims.verify(text, signature, base64.b64encode(b"short").decode())
