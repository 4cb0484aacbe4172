"""The scan input reads GS1 element strings, bracketed and as scanners emit them (FNC1 as GS)."""

from __future__ import annotations

import pytest

from anticounterfeit.codes import MalformedCode
from anticounterfeit.gs1 import parse_scanned

CODE = "ABCDEFGHIJKLMNOPQRST"
GS = "\x1d"


@pytest.mark.parametrize(
    "text",
    [
        f"(01)06901234567892(21){CODE}",
        f" (01)06901234567892(10)L2026(21){CODE.lower()} ",
        f"0106901234567892" f"21{CODE}",
        f"]Q30106901234567892" f"21{CODE}{GS}10L2026",
        f"]d2{GS}0106901234567892" f"17271001" f"21{CODE}",
        f"010690123456789210L2026{GS}21{CODE}",
    ],
)
def test_element_strings(text: str) -> None:
    scanned = parse_scanned(text)
    assert scanned.code == CODE and scanned.gtin == "06901234567892"


@pytest.mark.parametrize(
    "text",
    [
        f"(01)06901234567893(21){CODE}",  # check digit
        f"0106901234567893" f"21{CODE}",
        "(01)06901234567892",  # no serial
        f"(01)0690123456789(21){CODE}",
    ],
)
def test_bad_element_strings_are_malformed(text: str) -> None:
    with pytest.raises(MalformedCode):
        parse_scanned(text)


@pytest.mark.parametrize("gtin", ["00000000000000", "0000000000000", "00000000"])
def test_all_zeros_is_not_a_gtin(gtin: str) -> None:
    from anticounterfeit.gs1 import is_valid_gtin

    assert not is_valid_gtin(gtin)
    with pytest.raises(MalformedCode):
        parse_scanned(f"https://qr.example.test/01/{gtin.zfill(14)}/21/{CODE}")
