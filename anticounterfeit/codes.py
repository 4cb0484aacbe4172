"""The one-item-one-code format: 20 base32 characters carrying a key id, a hidden serial and a MAC.

Layout (100 bits, big-endian, written as 20 characters of the RFC 4648 base32 alphabet ``A-Z2-7``,
no padding)::

    bits 99..84          bits 83..48               bits 47..0
    key_id (16, plain) | masked_serial (36)      | mac (48)

    mac           = HMAC-SHA256(secret, b"C" || key_id:2 || serial:5)[:6]
    mask          = int(HMAC-SHA256(secret, b"M" || mac)[:5]) mod 2**36
    masked_serial = serial XOR mask
    pin           = int(HMAC-SHA256(pin_secret, b"P" || key_id:2 || serial:5)[:8]) mod 10**digits

Verifying reads ``key_id`` (which brand key version), takes ``mac``, recomputes the mask, unmasks
the serial, recomputes the MAC and compares in constant time. No database read is needed.

Why this is safe:

* Guessing. Each serial has exactly one code and decoding is a bijection, so under one key exactly
  2**36 of the 2**84 strings that carry its key id are valid: a uniformly random guess is valid
  with probability 2**-48 (10**12 guesses find ~0.004 codes), however many codes are issued.
* No offline attack. Checking a guess needs the secret; the only oracle is the rate-limited scan
  API. That is why 48 MAC bits suffice (RFC 2104's advice of 80 bits is for offline checking).
* No visible sequence. The serial is encrypted with a synthetic IV (the SIV idea of RFC 5297): the
  mask is a PRF of the MAC, itself a PRF of the serial, so consecutive serials give unrelated codes
  and neither the serial nor the production volume can be read off a code. The only leak: two
  serials whose 48-bit MACs collide share a mask, so their XOR shows (about n**2 / 2**49 pairs
  among n codes of one key, ~18 for 10**8); it does not help forging.
* Domain separation. ``C``, ``M`` and ``P`` prefixes keep the three HMAC uses independent.
* The PIN comes from a separate ``pin_secret``, so it is not derivable from the QR content (nor by
  anyone holding only the verification secret). Its bias from the modulo is below 10**8 / 2**64.
* Key rotation. The plain 16-bit ``key_id`` selects a brand key version; a leaked version is
  retired by refusing its id, without touching codes printed under other versions.
* Not covered by cryptography: a copied genuine code stays valid. Copies are caught by scan
  history (``suspect_copy``) and by the scratch-off PIN.

All characters are in QR alphanumeric mode and in GS1 AI 21's character set. Input is
whitespace-stripped and upper-cased, so case-mangled codes still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_LENGTH = 20
KEY_ID_BITS = 16
SERIAL_BITS = 36
MAC_BITS = 48
MAX_KEY_ID = 2**KEY_ID_BITS - 1
MAX_SERIAL = 2**SERIAL_BITS - 1
SECRET_LENGTH = 32
MIN_PIN_DIGITS = 6
MAX_PIN_DIGITS = 8

_MASK36 = MAX_SERIAL
_MASK48 = 2**MAC_BITS - 1
_SERIAL_SHIFT = MAC_BITS
_KEY_ID_SHIFT = MAC_BITS + SERIAL_BITS
_CODE_RE = re.compile(r"[A-Z2-7]{20}")
_TO_INT_DIGITS = str.maketrans(ALPHABET, "0123456789abcdefghijklmnopqrstuv")
# Two base32 characters per 10-bit chunk: 10 lookups write a code.
_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)
_SHA256_BLOCK = 64


class MalformedCode(ValueError):
    """The text is not a code at all (wrong length or characters outside the alphabet)."""


@dataclass(frozen=True)
class CodeKey:
    """One version of a brand's code key: the MAC/mask secret and the separate PIN secret."""

    key_id: int
    secret: bytes = field(repr=False)
    pin_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.key_id <= MAX_KEY_ID:
            raise ValueError(f"key_id must be in 0..{MAX_KEY_ID}")
        if len(self.secret) != SECRET_LENGTH or len(self.pin_secret) != SECRET_LENGTH:
            raise ValueError(f"secrets must be {SECRET_LENGTH} bytes")
        if hmac.compare_digest(self.secret, self.pin_secret):
            raise ValueError("pin_secret must differ from secret")


@dataclass(frozen=True)
class DecodedCode:
    """What a valid code carries."""

    key_id: int
    serial: int


class _HmacPads:
    """HMAC-SHA256 with the key's inner and outer blocks hashed once (RFC 2104).

    Copying pre-keyed hash objects is about twice as fast as ``hmac.digest`` on OpenSSL 3, which
    re-derives the key blocks on every call.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes, prefix: bytes = b"") -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + prefix)
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, msg: bytes) -> bytes:
        """HMAC-SHA256(key, prefix || msg)."""
        inner = self.inner.copy()
        inner.update(msg)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@dataclass(frozen=True)
class _KeyState:
    """Per-key precomputation: pre-keyed HMACs with their message prefixes."""

    key_bits: int
    mac: _HmacPads
    mask: _HmacPads
    pin: _HmacPads


@lru_cache(maxsize=256)
def _state(key: CodeKey) -> _KeyState:
    kid = key.key_id.to_bytes(2, "big")
    return _KeyState(
        key_bits=key.key_id << _KEY_ID_SHIFT,
        mac=_HmacPads(key.secret, b"C" + kid),
        mask=_HmacPads(key.secret, b"M"),
        pin=_HmacPads(key.pin_secret, b"P" + kid),
    )


def generate_key(key_id: int) -> CodeKey:
    """Create a new key version with fresh random secrets."""
    return CodeKey(
        key_id=key_id,
        secret=secrets.token_bytes(SECRET_LENGTH),
        pin_secret=secrets.token_bytes(SECRET_LENGTH),
    )


def _check_serial(serial: int) -> None:
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial must be in 0..{MAX_SERIAL}")


def _check_digits(digits: int) -> None:
    if not MIN_PIN_DIGITS <= digits <= MAX_PIN_DIGITS:
        raise ValueError(f"PIN digits must be in {MIN_PIN_DIGITS}..{MAX_PIN_DIGITS}")


def _to_text(value: int) -> str:
    p = _PAIRS
    return (
        p[value >> 90] + p[(value >> 80) & 1023] + p[(value >> 70) & 1023]
        + p[(value >> 60) & 1023] + p[(value >> 50) & 1023] + p[(value >> 40) & 1023]
        + p[(value >> 30) & 1023] + p[(value >> 20) & 1023] + p[(value >> 10) & 1023]
        + p[value & 1023]
    )  # fmt: skip


def _mask_for(state: _KeyState, mac6: bytes) -> int:
    return int.from_bytes(state.mask.digest(mac6)[:5], "big") & _MASK36


def encode(key: CodeKey, serial: int) -> str:
    """The 20-character code of ``serial`` under ``key``."""
    _check_serial(serial)
    state = _state(key)
    mac6 = state.mac.digest(serial.to_bytes(5, "big"))[:6]
    masked = serial ^ _mask_for(state, mac6)
    return _to_text(state.key_bits | masked << _SERIAL_SHIFT | int.from_bytes(mac6, "big"))


def normalize_code(code: str) -> str:
    """Strip and upper-case ``code``; raise MalformedCode unless it is 20 base32 characters."""
    text = code.strip()
    # Reject non-ASCII before upper(): "ı".upper() == "I" would otherwise sneak in.
    if len(text) != CODE_LENGTH or not text.isascii():
        raise MalformedCode("a code is 20 characters A-Z, 2-7")
    text = text.upper()
    if not _CODE_RE.fullmatch(text):
        raise MalformedCode("a code is 20 characters A-Z, 2-7")
    return text


def _to_int(code: str) -> int:
    return int(normalize_code(code).translate(_TO_INT_DIGITS), 32)


def parse_key_id(code: str) -> int:
    """The key version a code claims (unauthenticated); raises MalformedCode."""
    return _to_int(code) >> _KEY_ID_SHIFT


def verify(code: str, key: CodeKey) -> DecodedCode | None:
    """Decode ``code`` under ``key``: None if its MAC or key id does not match; MalformedCode."""
    value = _to_int(code)
    if value >> _KEY_ID_SHIFT != key.key_id:
        return None
    state = _state(key)
    mac6 = (value & _MASK48).to_bytes(6, "big")
    serial = ((value >> _SERIAL_SHIFT) & _MASK36) ^ _mask_for(state, mac6)
    expected = state.mac.digest(serial.to_bytes(5, "big"))[:6]
    if not hmac.compare_digest(expected, mac6):
        return None
    return DecodedCode(key_id=key.key_id, serial=serial)


def _pin_int(state: _KeyState, serial: int) -> int:
    return int.from_bytes(state.pin.digest(serial.to_bytes(5, "big"))[:8], "big")


def pin_for(key: CodeKey, serial: int, digits: int = 8) -> str:
    """The scratch-off PIN of ``serial``: ``digits`` (6 to 8) decimal digits, zero-padded."""
    _check_serial(serial)
    _check_digits(digits)
    return str(_pin_int(_state(key), serial) % 10**digits).zfill(digits)


def check_pin(key: CodeKey, serial: int, pin: str, digits: int = 8) -> bool:
    """Whether ``pin`` is the PIN of ``serial`` (constant-time comparison)."""
    expected = pin_for(key, serial, digits)
    return hmac.compare_digest(expected.encode(), pin.strip().encode("utf-8", "replace"))


def encode_range(
    key: CodeKey, start: int, stop: int, *, pin_digits: int = 8
) -> Iterator[tuple[int, str, str]]:
    """Yield ``(serial, code, pin)`` for serials ``start <= serial < stop``, fast."""
    if not 0 <= start <= stop <= MAX_SERIAL + 1:
        raise ValueError(f"need 0 <= start <= stop <= {MAX_SERIAL + 1}")
    _check_digits(pin_digits)
    return _encode_iter(_state(key), range(start, stop), pin_digits)


def _encode_iter(state: _KeyState, serials: range, digits: int) -> Iterator[tuple[int, str, str]]:
    # encode() and pin_for() with bound methods hoisted: the hot loop of batch printing.
    mac, mask, pin = state.mac.digest, state.mask.digest, state.pin.digest
    key_bits, modulus = state.key_bits, 10**digits
    for serial in serials:
        sb = serial.to_bytes(5, "big")
        mac6 = mac(sb)[:6]
        masked = serial ^ (int.from_bytes(mask(mac6)[:5], "big") & _MASK36)
        code = _to_text(key_bits | masked << _SERIAL_SHIFT | int.from_bytes(mac6, "big"))
        yield serial, code, str(int.from_bytes(pin(sb)[:8], "big") % modulus).zfill(digits)
