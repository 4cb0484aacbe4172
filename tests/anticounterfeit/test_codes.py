"""The code format: round trips, tamper and guess resistance, PINs, batch encoding."""

from __future__ import annotations

import base64
import hmac
import random
import re

import pytest

from anticounterfeit.codes import (
    ALPHABET,
    CODE_LENGTH,
    MAX_SERIAL,
    CodeKey,
    DecodedCode,
    MalformedCode,
    check_pin,
    encode,
    encode_range,
    generate_key,
    parse_key_id,
    pin_for,
    verify,
)

KEY = CodeKey(key_id=1, secret=bytes(range(32)), pin_secret=bytes(range(32, 64)))
OTHER_KEY = CodeKey(key_id=2, secret=bytes(range(64, 96)), pin_secret=bytes(range(96, 128)))
CODE_RE = re.compile(r"[A-Z2-7]{20}")


def reference_code(key: CodeKey, serial: int) -> str:
    """The format exactly as documented, written with hmac.digest and base64."""
    kid = key.key_id.to_bytes(2, "big")
    mac = hmac.digest(key.secret, b"C" + kid + serial.to_bytes(5, "big"), "sha256")[:6]
    mask = int.from_bytes(hmac.digest(key.secret, b"M" + mac, "sha256")[:5], "big") & MAX_SERIAL
    value = key.key_id << 84 | (serial ^ mask) << 48 | int.from_bytes(mac, "big")
    return base64.b32encode((value << 4).to_bytes(13, "big")).decode()[:20]


def reference_pin(key: CodeKey, serial: int, digits: int) -> str:
    msg = b"P" + key.key_id.to_bytes(2, "big") + serial.to_bytes(5, "big")
    pin = int.from_bytes(hmac.digest(key.pin_secret, msg, "sha256")[:8], "big") % 10**digits
    return str(pin).zfill(digits)


def field_36(code: str) -> int:
    value = 0
    for ch in code:
        value = value * 32 + ALPHABET.index(ch)
    return (value >> 48) & MAX_SERIAL


@pytest.mark.parametrize("serial", [0, 1, 2, 12345, 2**32, MAX_SERIAL - 1, MAX_SERIAL])
def test_round_trip(serial: int) -> None:
    code = encode(KEY, serial)
    assert len(code) == CODE_LENGTH
    assert CODE_RE.fullmatch(code)
    assert code == reference_code(KEY, serial)
    assert verify(code, KEY) == DecodedCode(key_id=1, serial=serial)
    assert parse_key_id(code) == 1


def test_key_id_extremes() -> None:
    for key_id in (0, 65535):
        key = generate_key(key_id)
        code = encode(key, 77)
        assert parse_key_id(code) == key_id
        assert verify(code, key) == DecodedCode(key_id=key_id, serial=77)


def test_case_mangled_and_whitespace_accepted() -> None:
    code = encode(KEY, 42)
    assert verify(f"  {code.lower()}\n", KEY) == DecodedCode(key_id=1, serial=42)
    assert parse_key_id(code.lower()) == 1


@pytest.mark.parametrize("serial", [-1, MAX_SERIAL + 1])
def test_serial_out_of_range(serial: int) -> None:
    with pytest.raises(ValueError):
        encode(KEY, serial)
    with pytest.raises(ValueError):
        pin_for(KEY, serial)


def test_consecutive_serials_look_unrelated() -> None:
    codes = [encode(KEY, n) for n in range(1001)]
    assert len(set(codes)) == len(codes)
    fields = [field_36(c) for c in codes]
    flips = [bin(a ^ b).count("1") for a, b in zip(fields, fields[1:], strict=False)]
    assert sum(flips) / len(flips) > 14  # ~18 of 36 bits for unrelated values, 1-2 for a counter
    assert min(flips) >= 3
    assert len({c[4:8] for c in codes[:100]}) > 90  # no shared visible prefix beyond the key id


def test_single_character_change_invalidates() -> None:
    code = encode(KEY, 987654)
    for i in range(CODE_LENGTH):
        for ch in ALPHABET:
            if ch != code[i]:
                assert verify(code[:i] + ch + code[i + 1 :], KEY) is None


def test_wrong_key_fails() -> None:
    code = encode(KEY, 5)
    same_id = CodeKey(key_id=1, secret=bytes(range(1, 33)), pin_secret=bytes(range(33, 65)))
    assert verify(code, same_id) is None
    assert verify(code, OTHER_KEY) is None


def test_key_rotation() -> None:
    old, new = generate_key(1), generate_key(2)
    old_code, new_code = encode(old, 10), encode(new, 10)
    assert parse_key_id(old_code) == 1 and parse_key_id(new_code) == 2
    assert verify(old_code, old) == DecodedCode(1, 10)
    assert verify(old_code, new) is None
    assert verify(new_code, new) == DecodedCode(2, 10)
    assert verify(new_code, old) is None


def test_random_strings_fail() -> None:
    rng = random.Random(20240601)
    valid = 0
    for _ in range(10_000):
        guess = "".join(rng.choice(ALPHABET) for _ in range(CODE_LENGTH))
        # Give the guess the right key id so only the MAC stands in the way.
        guess = encode(KEY, 0)[:3] + guess[3:]
        valid += verify(guess, KEY) is not None
    assert valid == 0


@pytest.mark.parametrize(
    "bad",
    ["", "ABC", "A" * 19, "A" * 21, "AAAAAAAAAAAAAAAAAAA1", "AAAAAAAAAAAAAAAAAAA8",
     "AAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAA AAAAAAAAA", "ıııııııııııııııııııı", "A" * 5000],
)  # fmt: skip
def test_malformed_codes_rejected(bad: str) -> None:
    with pytest.raises(MalformedCode):
        parse_key_id(bad)
    with pytest.raises(MalformedCode):
        verify(bad, KEY)


@pytest.mark.parametrize("digits", [6, 7, 8])
def test_pin(digits: int) -> None:
    pins = [pin_for(KEY, s, digits) for s in range(200)]
    assert all(len(p) == digits and p.isdigit() for p in pins)
    assert pins == [reference_pin(KEY, s, digits) for s in range(200)]
    assert pins == [pin_for(KEY, s, digits) for s in range(200)]  # deterministic
    assert len(set(pins)) > 190
    assert all(check_pin(KEY, s, pins[s], digits) for s in range(200))
    assert not check_pin(KEY, 3, pins[4], digits) or pins[3] == pins[4]


def test_pin_independent_of_code_content() -> None:
    # Same code secret, different PIN secret: identical codes, different PINs.
    twin = CodeKey(key_id=1, secret=KEY.secret, pin_secret=bytes(range(200, 232)))
    serials = range(50)
    assert [encode(twin, s) for s in serials] == [encode(KEY, s) for s in serials]
    assert sum(pin_for(twin, s) == pin_for(KEY, s) for s in serials) == 0
    for s in serials:
        code, pin = encode(KEY, s), pin_for(KEY, s)
        assert pin not in code and pin[:6] not in str(s) + code


def test_check_pin_rejects() -> None:
    pin = pin_for(KEY, 9)
    wrong = str((int(pin) + 1) % 10**8).zfill(8)
    assert check_pin(KEY, 9, f" {pin} ")
    assert not check_pin(KEY, 9, wrong)
    assert not check_pin(KEY, 9, pin[:-1])
    assert not check_pin(KEY, 9, "")
    assert not check_pin(KEY, 9, "１２３４５６７８")
    assert not check_pin(OTHER_KEY, 9, pin) or pin_for(OTHER_KEY, 9) == pin


@pytest.mark.parametrize("digits", [5, 9])
def test_pin_digits_bounds(digits: int) -> None:
    with pytest.raises(ValueError):
        pin_for(KEY, 1, digits)
    with pytest.raises(ValueError):
        encode_range(KEY, 0, 1, pin_digits=digits)


@pytest.mark.parametrize("digits", [6, 8])
def test_encode_range_agrees(digits: int) -> None:
    rows = list(encode_range(KEY, 1000, 1300, pin_digits=digits))
    assert [r[0] for r in rows] == list(range(1000, 1300))
    assert all(code == encode(KEY, s) for s, code, _ in rows)
    assert all(pin == pin_for(KEY, s, digits) for s, _, pin in rows)
    assert list(encode_range(KEY, MAX_SERIAL - 1, MAX_SERIAL + 1)) == [
        (s, encode(KEY, s), pin_for(KEY, s)) for s in (MAX_SERIAL - 1, MAX_SERIAL)
    ]
    assert list(encode_range(KEY, 5, 5)) == []


@pytest.mark.parametrize(("start", "stop"), [(-1, 3), (5, 4), (0, MAX_SERIAL + 2)])
def test_encode_range_bounds(start: int, stop: int) -> None:
    with pytest.raises(ValueError):
        encode_range(KEY, start, stop)


@pytest.mark.parametrize(
    "kwargs",
    [{"key_id": -1}, {"key_id": 65536}, {"secret": b"short"}, {"pin_secret": bytes(range(32))}],
)
def test_key_validation(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "key_id": 1, "secret": bytes(range(32)), "pin_secret": bytes(range(32, 64))
    }  # fmt: skip
    with pytest.raises(ValueError):
        CodeKey(**{**fields, **kwargs})  # type: ignore[arg-type]


def test_key_repr_hides_secrets() -> None:
    key = generate_key(3)
    assert key.secret.hex() not in repr(key) and "secret" not in repr(key)
    assert len(key.secret) == len(key.pin_secret) == 32 and key.secret != key.pin_secret
