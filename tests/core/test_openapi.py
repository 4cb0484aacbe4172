"""The published OpenAPI document matches what the service does (errors, security, paging)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.test_app import assert_envelope

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/openapi.json").get_json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in METHODS]  # fmt: skip


def test_error_schema_is_the_envelope(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message", "reason"}
    assert error.get("additionalProperties") is not False


def test_every_operation_declares_its_errors_and_security(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    assert len(ops) > 30
    for method, path, op in ops:
        codes = set(op["responses"])
        assert {"404", "409", "422", "429"} <= codes, (method, path)
        assert any(code.startswith("2") for code in codes), (method, path)
        if path in ("/api/v1/health", "/api/v1/auth/token", "/api/v1/auth/wechat"):
            assert not op.get("security"), path
        if op.get("security"):
            assert {"401", "403"} <= codes, (method, path)
        if "requestBody" in op:
            assert "400" in codes, (method, path)
    secured = [op for _, _, op in ops if op.get("security")]
    assert len(secured) > 0.8 * len(ops)  # public operations are the exception
    by_path = {(m, p): op for m, p, op in ops}
    assert by_path[("post", "/api/v1/scans")]["security"] == [{"consumer": []}, {}]
    assert by_path[("get", "/api/v1/me")]["security"] == [{"consumer": []}]
    assert by_path[("get", "/api/v1/products")]["security"] == [{"staff": []}]
    assert set(spec["components"]["securitySchemes"]) >= {"staff", "consumer"}


def test_a_new_endpoint_inherits_the_declarations(app: Flask) -> None:
    """What README promises a developer adding an endpoint."""
    from flask_smorest import Blueprint
    from marshmallow import Schema, fields

    from accounts.auth import staff_required
    from core.api import EnvelopeApi

    class Thing(Schema):
        name = fields.String()

    blp = Blueprint("things", __name__, url_prefix="/api/v1")

    @blp.post("/things")
    @staff_required()
    @blp.arguments(Thing)
    @blp.response(201, Thing)
    def create(body: Any) -> Any:
        return body

    api = EnvelopeApi()
    other = Flask("other")
    other.config.update(app.config)
    api.init_app(other)
    api.register_blueprint(blp)
    op = api.spec.to_dict()["paths"]["/api/v1/things"]["post"]
    assert op["security"] == [{"staff": []}]
    assert {"400", "401", "403", "404", "409", "422", "429"} <= set(op["responses"])


def test_real_errors_validate_against_the_documented_error(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    import jsonschema_rs

    error = spec["components"]["schemas"]["Error"]
    for response in (
        client.get("/api/v1/products"),
        client.post("/api/v1/scans", data=b"{", content_type="application/json"),
        client.post("/api/v1/scans", json={"code": 1}),
    ):
        assert response.status_code >= 400
        jsonschema_rs.validate(error, response.get_json())
    assert_envelope(client.get("/api/v1/products"), 401, "unauthenticated")
