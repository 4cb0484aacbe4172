"""GTIN check digits, Digital Link building and reading scanned text."""

from __future__ import annotations

import pytest

from anticounterfeit.codes import CodeKey, MalformedCode, encode
from anticounterfeit.gs1 import (
    ScannedCode,
    compact_link,
    digital_link,
    gtin_check_digit,
    is_valid_gtin,
    normalize_gtin,
    parse_scanned,
)

KEY = CodeKey(key_id=1, secret=bytes(range(32)), pin_secret=bytes(range(32, 64)))
CODE = encode(KEY, 123)
GTIN = "06901234567892"


def test_check_digit() -> None:
    assert gtin_check_digit("0690123456789") == 2
    assert gtin_check_digit("690123456789") == 2
    assert gtin_check_digit("9638507") == 4  # GTIN-8 96385074
    assert gtin_check_digit("03600029145") == 2  # UPC-A 036000291452
    with pytest.raises(ValueError):
        gtin_check_digit("12a4")
    with pytest.raises(ValueError):
        gtin_check_digit("")


@pytest.mark.parametrize("gtin", [GTIN, "6901234567892", "96385074", "036000291452"])
def test_valid_gtins(gtin: str) -> None:
    assert is_valid_gtin(gtin)
    assert normalize_gtin(gtin) == gtin.zfill(14)


@pytest.mark.parametrize(
    "gtin",
    ["06901234567891", "6901234567891", "", "123", "069012345678922", "0690123456789X",
     "٠٦٩٠١٢٣٤٥٦٧٨٩٢", "0690123456789²", "+6901234567892"],
)  # fmt: skip
def test_invalid_gtins(gtin: str) -> None:
    assert not is_valid_gtin(gtin)
    with pytest.raises(ValueError):
        normalize_gtin(gtin)


def test_normalize_gtin13() -> None:
    assert normalize_gtin("6901234567892") == GTIN
    assert normalize_gtin(" 6901234567892 ") == GTIN


def test_links() -> None:
    assert digital_link("https://q.example.cn/", GTIN, CODE) == (
        f"https://q.example.cn/01/{GTIN}/21/{CODE}"
    )
    assert digital_link("https://q.example.cn", "6901234567892", CODE.lower()).endswith(
        f"/01/{GTIN}/21/{CODE}"
    )
    assert compact_link("https://q.example.cn/", CODE) == f"https://q.example.cn/c/{CODE}"
    with pytest.raises(ValueError):
        digital_link("https://q.example.cn", "06901234567891", CODE)
    with pytest.raises(MalformedCode):
        compact_link("https://q.example.cn", "NOTACODE")


DL = ScannedCode(code=CODE, gtin=GTIN)
BARE = ScannedCode(code=CODE, gtin=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"https://q.example.cn/01/{GTIN}/21/{CODE}", DL),
        (f"https://other.brand.com/01/{GTIN}/21/{CODE}", DL),
        (f"http://id.gs1.org/01/{GTIN}/21/{CODE}", DL),
        (f"https://x.y/01/6901234567892/21/{CODE}", DL),
        (f"https://x.y/some/prefix/01/{GTIN}/21/{CODE}", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE}/", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE}/10/LOT42", DL),
        (f"https://x.y/01/{GTIN}/10/LOT42/21/{CODE}", DL),
        (f"https://x.y/01/{GTIN}/22/A1/10/LOT42/21/{CODE}", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE}?17=271001&utm=wx", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE}#top", DL),
        (f"https://x.y:8443/01/{GTIN}/21/{CODE}", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE[:5]}%{ord(CODE[5]):02X}{CODE[6:]}", DL),
        (f"HTTPS://X.Y/01/{GTIN}/21/{CODE}", DL),
        (f"https://x.y/01/{GTIN}/21/{CODE.lower()}", DL),
        (f"  https://x.y/01/{GTIN}/21/{CODE}\n", DL),
        (f"x.y/01/{GTIN}/21/{CODE}", DL),
        (f"https://x.y/c/{CODE}", BARE),
        (f"https://x.y/c/{CODE}/", BARE),
        (f"https://x.y/app/c/{CODE}?from=timeline", BARE),
        (f"HTTPS://X.Y/C/{CODE}", BARE),
        (f"https://x.y/c/{CODE.lower()}", BARE),
        (CODE, BARE),
        (CODE.lower(), BARE),
        (f"\t {CODE} \r\n", BARE),
    ],
)
def test_parse_scanned(text: str, expected: ScannedCode) -> None:
    assert parse_scanned(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        CODE[:-1],
        CODE + "A",
        "https://x.y/" + "a/" * 1100 + f"c/{CODE}",
        f"https://x.y/01/{GTIN}/{CODE}",
        f"https://x.y/01/{GTIN}",
        f"https://x.y/01/{GTIN}/10/LOT42",
        f"https://x.y/01/{GTIN}/21/{CODE}/10",
        f"https://x.y/01/ABCDEFGHIJKLMN/21/{CODE}",
        f"https://x.y/01/06901234567891/21/{CODE}",
        f"https://x.y/01/123/21/{CODE}",
        f"https://x.y/01/{GTIN}/21/NOTACODE",
        f"https://x.y/01/{GTIN}/21/{CODE}A",
        f"https://x.y/01/{GTIN}/21/{CODE[:10]}%2F{CODE[11:]}",
        f"https://x.y/21/{CODE}",
        f"https://x.y/{CODE}",
        f"https://x.y/?code={CODE}",
        "https://x.y/c/",
        f"https://x.y/c/{CODE}/extra",
        f"javascript:alert(1)/c/{CODE}",
        f"https://[::1/c/{CODE}",
    ],
)
def test_parse_scanned_malformed(text: str) -> None:
    with pytest.raises(MalformedCode):
        parse_scanned(text)


def test_parse_scanned_rejects_non_string() -> None:
    with pytest.raises(MalformedCode):
        parse_scanned(None)  # type: ignore[arg-type]
