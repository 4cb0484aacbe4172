"""The scan API reads every form a scanner hands over."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

GS = "\x1d"


def test_scanning_an_element_string_verifies_the_code(
    client: FlaskClient, make_codes: Any
) -> None:
    c = make_codes()
    code = c.rows[0][1]
    for text, verdict in [
        (f"(01)06901234567892(21){code}", "authentic"),
        (f"]Q30106901234567892" f"21{code}{GS}10L2026-10A", "authentic_repeat"),
        (f"(01)04006381333931(21){code}", "counterfeit"),  # a genuine code under another GTIN
    ]:
        body = client.post("/api/v1/scans", json={"code": text, "device_id": "d1"}).get_json()
        assert body["verdict"] == verdict, (text, body)
