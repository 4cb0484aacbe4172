"""RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON values claims carry.

Objects have their members sorted by the UTF-16 code units of their names, no whitespace is
emitted, strings are escaped as ECMAScript's ``JSON.stringify`` does (only ``"``, ``\\`` and
control characters; everything else is written as UTF-8), and numbers are written as
ECMAScript's ``Number.prototype.toString`` writes IEEE 754 doubles. Lone surrogates, NaN and the
infinities have no canonical form and are refused.
"""

from __future__ import annotations

from typing import Any

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


class NotCanonicalisable(ValueError):
    """The value has no RFC 8785 form (a lone surrogate, NaN, an infinity, a non-JSON type)."""


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    return _serialize(value).encode("utf-8")


def _serialize(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return _number(float(value)) if abs(value) >= 2**53 else str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_serialize(v) for v in value) + "]"
    if isinstance(value, dict):
        return _object(value)
    raise NotCanonicalisable(f"not a JSON value: {type(value).__name__}")


def _object(value: dict[Any, Any]) -> str:
    if not all(isinstance(k, str) for k in value):
        raise NotCanonicalisable("object member names must be strings")
    names = sorted(value, key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(_string(k) + ":" + _serialize(value[k]) for k in names) + "}"


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":
            raise NotCanonicalisable("lone surrogate in a string")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _number(x: float) -> str:
    """ECMAScript Number::toString (ECMA-262 7.1.12.1) for a finite double."""
    if x != x or x in (float("inf"), float("-inf")):
        raise NotCanonicalisable("NaN and infinities have no JSON form")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _number(-x)
    digits, n = _shortest_digits(x)
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    exponent = n - 1
    sign = "+" if exponent >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(exponent)}"


def _shortest_digits(x: float) -> tuple[str, int]:
    """The shortest round-tripping decimal digits of ``x`` > 0 and n with x = 0.digits × 10^n."""
    mantissa, _, exp_text = repr(x).partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, frac = mantissa.partition(".")
    if frac == "0":
        frac = ""
    raw = whole + frac
    stripped = raw.lstrip("0")
    leading_zeros = len(raw) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    n = len(whole) - leading_zeros + exponent
    return digits, n
