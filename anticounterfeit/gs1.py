"""GS1 helpers: GTIN check digits, Digital Link URIs for printed codes, and reading scanned text.

A printed QR holds ``{base}/01/{gtin14}/21/{code}`` (GS1 Digital Link: AI 01 is the GTIN, AI 21
the serial) or the shorter ``{base}/c/{code}``. Scanners hand back that URI (from any host, as
resolvers and redirects may rewrite it), sometimes upper- or lower-cased, percent-encoded or with
extra qualifiers, or just the bare code; ``parse_scanned`` accepts all of them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from anticounterfeit.codes import MalformedCode, normalize_code

GTIN_LENGTHS = (8, 12, 13, 14)
MAX_SCANNED_LENGTH = 2048
_GTIN_AI = "01"
_SERIAL_AI = "21"
_COMPACT_SEGMENTS = ("c", "C")
_URI_SCHEMES = ("", "http", "https")
# The form this service prints, as almost every scan sends it back: read without urlsplit.
_PRINTED = re.compile(r"(?:https?://[^/?#\s]+)?/01/([0-9]{14})/21/([A-Za-z2-7]{20})")


def _is_digits(text: str) -> bool:
    # str.isdigit() alone also accepts non-ASCII digits such as "²" or "٣".
    return text.isascii() and text.isdigit()


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (a GTIN without its last digit)."""
    if not _is_digits(body):
        raise ValueError("a GTIN body is digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(gtin: str) -> bool:
    """Whether ``gtin`` is a GTIN-8, -12, -13 or -14 with a correct check digit."""
    if len(gtin) not in GTIN_LENGTHS or not _is_digits(gtin) or not gtin.strip("0"):
        return False  # all zeros passes the check digit but is no trade item
    return gtin_check_digit(gtin[:-1]) == int(gtin[-1])


@functools.lru_cache(maxsize=4096)  # a brand has few GTINs; every scan checks one
def normalize_gtin(gtin: str) -> str:
    """``gtin`` as 14 digits (zero-padded); ValueError when it is not a valid GTIN."""
    text = gtin.strip()
    if not is_valid_gtin(text):
        raise ValueError(f"not a valid GTIN: {gtin!r}")
    return text.zfill(14)


def digital_link(base_url: str, gtin14: str, code: str) -> str:
    """The GS1 Digital Link URI printed in the QR: ``{base}/01/{gtin14}/21/{code}``."""
    gtin = normalize_gtin(gtin14)
    return f"{base_url.rstrip('/')}/{_GTIN_AI}/{gtin}/{_SERIAL_AI}/{normalize_code(code)}"


def compact_link(base_url: str, code: str) -> str:
    """The short form ``{base}/c/{code}``."""
    return f"{base_url.rstrip('/')}/c/{normalize_code(code)}"


@dataclass(frozen=True)
class ScannedCode:
    """A code read from scanned text, with the GTIN when the text was a Digital Link."""

    code: str
    gtin: str | None


def parse_scanned(text: str) -> ScannedCode:
    """Read a Digital Link URI, a compact ``/c/`` link or a bare code; raise MalformedCode."""
    if not isinstance(text, str) or len(text) > MAX_SCANNED_LENGTH:
        raise MalformedCode("scanned text is not a string of at most 2048 characters")
    stripped = text.strip()
    printed = _PRINTED.fullmatch(stripped)
    if printed is not None:
        code = normalize_code(printed[2])
        try:
            return ScannedCode(code, normalize_gtin(printed[1]))
        except ValueError as exc:
            raise MalformedCode("the GTIN in the link is not valid") from exc
    if stripped[:1] in _ELEMENT_STRING_STARTS:
        element = _parse_element_string(stripped)
        if element is not None:
            return element
    if "/" not in stripped:
        return ScannedCode(code=normalize_code(stripped), gtin=None)
    return _parse_uri(stripped)


# GS1 element strings, as a 2D scanner types them out: "(01)06901234567892(21)CODE" (human
# readable) or "0106901234567892" "21CODE" with FNC1 sent as the group separator (ASCII 29),
# possibly behind a symbology identifier such as "]Q3" or "]d2". A bare code never starts with
# "(", "]" or a digit 0/1 (base32 uses A-Z and 2-7), so the forms cannot be confused.
_ELEMENT_STRING_STARTS = ("(", "]", "0", "1")
_GS = "\x1d"
_SYMBOLOGY_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_BRACKETED = re.compile(r"\(([0-9]{2,4})\)([^()\x1d]*)")
#: Two-digit AIs of predefined length (GS1 General Specifications, figure 7.8.5-2).
_FIXED_LENGTH = {"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6,
                 "17": 6, "20": 2}  # fmt: skip
_VARIABLE = ("10", "21", "22")


def _element_values(text: str) -> dict[str, str] | None:
    """AI -> value of an element string, or None when it is not one this reader knows."""
    text = _SYMBOLOGY_ID.sub("", text).strip(_GS)
    if text.startswith("("):
        pairs = _BRACKETED.findall(text.replace(_GS, ""))
        if "".join(f"({ai}){value}" for ai, value in pairs) != text.replace(_GS, ""):
            return None
        return dict(pairs)
    values: dict[str, str] = {}
    while text:
        ai = text[:2]
        if ai in _FIXED_LENGTH:
            end = 2 + _FIXED_LENGTH[ai]
            if len(text) < end:
                return None
            values[ai], text = text[2:end], text[end:].lstrip(_GS)
        elif ai in _VARIABLE:
            value, _, text = text[2:].partition(_GS)
            values[ai] = value
        else:
            return None
    return values


def _parse_element_string(text: str) -> ScannedCode | None:
    values = _element_values(text)
    if not values or _SERIAL_AI not in values:
        return None
    gtin = values.get(_GTIN_AI)
    if gtin is None:
        return ScannedCode(code=normalize_code(values[_SERIAL_AI]), gtin=None)
    try:
        gtin14 = normalize_gtin(gtin)
    except ValueError as exc:
        raise MalformedCode("the GTIN in the element string is not valid") from exc
    return ScannedCode(code=normalize_code(values[_SERIAL_AI]), gtin=gtin14)


def _path_segments(uri: str) -> list[str]:
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an invalid IPv6 host
        raise MalformedCode("not a URI") from exc
    if parts.scheme.lower() not in _URI_SCHEMES:
        raise MalformedCode("not an http(s) URI")
    # Split before unquoting so an encoded "/" cannot create segments; drop empty ones.
    return [unquote(s) for s in parts.path.split("/") if s]


def _parse_uri(uri: str) -> ScannedCode:
    segments = _path_segments(uri)
    for i, segment in enumerate(segments):
        if segment == _GTIN_AI and i + 1 < len(segments):
            found = _digital_link_at(segments, i + 1)
            if found is not None:
                return found
    if len(segments) >= 2 and segments[-2] in _COMPACT_SEGMENTS:
        return ScannedCode(code=normalize_code(segments[-1]), gtin=None)
    raise MalformedCode("not a GS1 Digital Link with a serial (/01/.../21/...) nor a /c/ link")


def _digital_link_at(segments: list[str], gtin_index: int) -> ScannedCode | None:
    # After the GTIN come (AI, value) pairs: /22/.., /10/LOT, /21/SERIAL, in any order.
    qualifiers = segments[gtin_index + 1 :]
    if len(qualifiers) % 2 or not all(_is_digits(ai) for ai in qualifiers[::2]):
        return None
    values = dict(zip(qualifiers[::2], qualifiers[1::2], strict=True))
    if _SERIAL_AI not in values:
        return None
    try:
        gtin = normalize_gtin(segments[gtin_index])
    except ValueError as exc:
        raise MalformedCode("the GTIN in the link is not valid") from exc
    return ScannedCode(code=normalize_code(values[_SERIAL_AI]), gtin=gtin)
