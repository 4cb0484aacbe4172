"""Hostile bytes and edge values are refused at the edge, on every endpoint, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.test_app import assert_envelope

UNSTORABLE = ["a\u0000b", "\ud800", "x\udfffy"]


@pytest.fixture
def owner_headers(app: Any, make_brand: Any, bearer: Any) -> dict[str, str]:
    headers: dict[str, str] = bearer(make_brand())
    return headers


def _raw(text: str) -> bytes:
    """JSON text as a client may send it (lone surrogates as their UTF-8-like bytes)."""
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("value", UNSTORABLE)
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/scans", {"code": "ABC", "device_id": None}, "device_id"),
        ("post", "/api/v1/scans", {"code": None}, "code"),
        ("post", "/api/v1/products", {"name": None, "gtin": "06901234567892"}, "name"),
        ("post", "/api/v1/auth/token", {"email": None, "password": "x"}, "email"),
        ("patch", "/api/v1/brand", {"settings": {"motto": None}}, "settings"),
    ],
)
def test_unstorable_strings_are_422_naming_the_field(
    client: FlaskClient, owner_headers: dict[str, str], method: str, path: str,
    body: dict[str, Any], field: str, value: str,
) -> None:  # fmt: skip
    filled = {k: (v if v is not None else value) for k, v in body.items()}
    if "settings" in filled:
        filled["settings"] = {"motto": value}
    import json

    data = _raw(json.dumps(filled, ensure_ascii=False))
    headers = {} if path in ("/api/v1/scans", "/api/v1/auth/token") else owner_headers
    response = getattr(client, method)(
        path, data=data, content_type="application/json", headers=headers
    )
    assert_envelope(response, 422, "validation_error")
    assert field in response.get_json()["errors"]["json"]


def test_unstorable_object_keys_are_422(client: FlaskClient, owner_headers: dict[str, str]) -> None:
    response = client.patch(
        "/api/v1/brand", json={"settings": {"a\u0000": 1}}, headers=owner_headers
    )
    assert_envelope(response, 422, "validation_error")
    assert "settings" in response.get_json()["errors"]["json"]


def test_escaped_nul_is_refused_too(client: FlaskClient) -> None:
    body = b'{"code": "ABC", "device_id": "a\\u0000b"}'
    response = client.post("/api/v1/scans", data=body, content_type="application/json")
    assert_envelope(response, 422, "validation_error")
    message = "Contains a NUL byte or an unpaired surrogate, which cannot be stored."
    assert response.get_json()["errors"] == {"json": {"device_id": [message]}}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"code": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
        b'{"code": "x", "scene": ' + b"9" * 5000 + b"}",
        b'{"code": "x", "scene": -' + b"9" * 100 + b"}",
        b'{"code": NaN}',
        b'{"code": "x", "scene": Infinity}',
    ],
)
def test_deep_nesting_huge_integers_and_constants_are_malformed_json(
    client: FlaskClient, body: bytes
) -> None:
    response = client.post("/api/v1/scans", data=body, content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


@pytest.mark.parametrize("number", ["1e999", "-1e999", "9223372036854775808"])
def test_numbers_out_of_range_are_422(client: FlaskClient, number: str) -> None:
    body = b'{"code": "x", "scene": ' + number.encode() + b"}"
    response = client.post("/api/v1/scans", data=body, content_type="application/json")
    assert_envelope(response, 422, "validation_error")
    assert "scene" in response.get_json()["errors"]["json"]


def test_a_long_run_of_digits_inside_a_string_is_fine(client: FlaskClient) -> None:
    response = client.post("/api/v1/scans", json={"code": "1" * 100})
    assert response.status_code == 200 and response.get_json()["verdict"] == "counterfeit"


@pytest.mark.parametrize("page", ["99999999999999999999999", "1000001"])
def test_page_numbers_past_the_bound_are_422(
    client: FlaskClient, owner_headers: dict[str, str], page: str
) -> None:
    response = client.get(f"/api/v1/products?page={page}", headers=owner_headers)
    assert_envelope(response, 422, "validation_error")
    assert "page" in response.get_json()["errors"]["query"]


def test_query_strings_with_nul_are_422(client: FlaskClient, owner_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/awards?campaign_id=a%00b", headers=owner_headers)
    assert_envelope(response, 422, "validation_error")
    assert "campaign_id" in response.get_json()["errors"]["query"]


@pytest.mark.parametrize("path", ["/api/v1/products", "/c/ABC", "/nowhere"])
def test_long_urls_get_the_envelope(client: FlaskClient, path: str) -> None:
    response = client.get(path + "?q=" + "a" * 5000)
    assert response.status_code == 414
    if path.startswith("/api"):
        assert_envelope(response, 414, "uri_too_long")


def test_get_json_has_the_same_limits(app: Any) -> None:
    from core.inputs import MalformedJson

    with app.test_request_context(
        "/", method="POST", data=b"[" * 50_000, content_type="application/json"
    ):
        from flask import request

        with pytest.raises(MalformedJson):
            request.get_json()
