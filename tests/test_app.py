"""The error envelope, the OpenAPI document and the docs, for every kind of failure."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

ENVELOPE_KEYS = {"code", "status", "message", "reason"}


def assert_envelope(response: Any, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) >= ENVELOPE_KEYS
    assert body["code"] == status and body["reason"] == reason
    return body


def test_unknown_api_route_is_json_404(client: FlaskClient) -> None:
    assert_envelope(client.get("/api/v1/nope"), 404, "not_found")


def test_unknown_page_is_html_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "页面不存在" in response.get_data(as_text=True)


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/token")
    assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/token", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "malformed_json")


def test_missing_fields_are_422_with_errors(client: FlaskClient) -> None:
    body = assert_envelope(client.post("/api/v1/auth/token", json={}), 422, "validation_error")
    assert set(body["errors"]["json"]) == {"email", "password"}


def test_wrong_types_are_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"email": 5, "password": ["x"]})
    assert_envelope(response, 422, "validation_error")


def test_json_array_body_is_422(client: FlaskClient) -> None:
    assert_envelope(client.post("/api/v1/auth/token", json=[1, 2]), 422, "validation_error")


def test_ten_megabyte_body_is_413(client: FlaskClient) -> None:
    payload = b'{"email": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/auth/token", data=payload, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 413, "request_too_large")


def test_unexpected_exception_is_500_without_internals(
    client: FlaskClient, monkeypatch: Any
) -> None:
    from accounts import service

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service, "login", boom)
    response = client.post("/api/v1/auth/token", json={"email": "a@b.test", "password": "x"})
    body = assert_envelope(response, 500, "internal_error")
    assert "secret internal detail" not in str(body)


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    assert "/api/v1/auth/token" in paths and "/api/v1/auth/wechat" in paths


def test_docs_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    assert "http" not in page.split("<body>")[0].replace("http-equiv", "")
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_redis_down_is_503(app: Flask, client: FlaskClient, monkeypatch: Any) -> None:
    from redis import Redis

    broker = app.extensions["broker"]
    monkeypatch.setattr(
        broker, "redis", Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    )
    response = client.post("/api/v1/auth/token", json={"email": "a@b.test", "password": "x"})
    assert_envelope(response, 503, "redis_unavailable")
    assert response.headers["Retry-After"]


def test_health(client: FlaskClient) -> None:
    assert client.get("/api/v1/health").get_json() == {"status": "ok"}
