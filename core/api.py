"""The error envelope of the API (and the HTML error pages outside it), and the smorest Api.

Every JSON error is ``{"code", "status", "message", "reason", "errors"?, "request_id"}``;
``app.py`` registers these responses as the error handlers.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import flask_smorest.pagination
from flask import Flask, Response, jsonify, render_template, request
from flask_smorest import Api
from marshmallow import ValidationError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from core.logging import current_request_id
from core.openapi import ErrorResponses, ErrorSchema, HonestSpec, document_pagination

log = logging.getLogger(__name__)


class EnvelopeApi(Api):
    """flask-smorest's Api with the error envelope of API.md for HTTP errors, documented
    truthfully for every operation (``core.openapi``)."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        """Initialise with the ``ErrorResponses`` plugin (errors and security per operation)."""
        self.install_pagination_doc()
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), ErrorResponses()]
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.spec.__class__ = HonestSpec

    @staticmethod
    def install_pagination_doc() -> None:
        """X-Pagination documented as the JSON text it is, on every paged operation."""
        mixin: Any = flask_smorest.pagination.PaginationMixin
        mixin._document_pagination_metadata = lambda self, spec, resp_doc: document_pagination(
            spec, resp_doc
        )

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        return http_error_response(error)


HTTP_REASONS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def wants_html() -> bool:
    """Errors outside the API, the WeChat callbacks and /metrics are HTML pages for people."""
    path = request.path
    return not (path.startswith("/api") or path.startswith("/wechat") or path == "/metrics")


def error_response(
    status: int,
    reason: str,
    message: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The JSON error envelope (or an HTML page outside the API)."""
    phrase = HTTPStatus(status).phrase
    if wants_html():
        html = render_template("errors/error.html", code=status, status=phrase, message=message)
        response = Response(html, status=status, mimetype="text/html")
    else:
        body: dict[str, Any] = {
            "code": status,
            "status": phrase,
            "message": message,
            "reason": reason,
        }
        if errors:
            body["errors"] = errors
        request_id = current_request_id()
        if request_id:
            body["request_id"] = request_id
        response = jsonify(body)
        response.status_code = status
    response.headers.update(headers or {})
    return response


def http_error_response(error: HTTPException) -> Response:
    """Envelope for werkzeug/flask-smorest HTTP errors, including webargs validation."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    reason = HTTP_REASONS.get(status, "http_error")
    message = error.description or HTTPStatus(status).phrase
    if status == 400 and messages and "json" in messages and "Invalid JSON" in str(messages):
        reason, message = "malformed_json", "The request body is not valid JSON."
        messages = None
    elif status == 422:
        message = "The request is not valid."
    elif status == 413:
        message = "The request body is too large."
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    return error_response(status, reason, message, errors=messages, headers=headers)


def domain_error_response(error: DomainError) -> Response:
    """Envelope for the domain errors raised by services."""
    return error_response(
        error.http_status, error.reason, error.message, errors=error.errors, headers=error.headers()
    )


def validation_error_response(error: ValidationError) -> Response:
    """Envelope for marshmallow errors raised outside flask-smorest's argument parsing."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return error_response(422, "validation_error", "The request is not valid.", errors=messages)


def redis_error_response(error: RedisError) -> Response:
    """Redis down is a 503, not a 500."""
    log.error("redis unavailable: %s", error)
    return error_response(
        503,
        "redis_unavailable",
        "A service we depend on is unavailable; try again shortly.",
        headers={"Retry-After": "5"},
    )


def unexpected_error_response(error: Exception) -> Response:
    """Anything else: logged with its traceback, answered without internals."""
    if isinstance(error, HTTPException):
        return http_error_response(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "Something went wrong on our side.")


api = EnvelopeApi()
