"""The OpenAPI document tells the truth, for every operation, present and future.

- ``ErrorSchema`` is the envelope every error really has (``reason`` included; extra keys
  allowed), used by every error response flask-smorest documents.
- Auth decorators call ``document_auth`` so each operation declares its security scheme
  (``staff``, ``consumer``, or ``consumer`` optional); Swagger UI's "Try it out" sends the token.
- ``ErrorResponses`` (an apispec plugin) adds to every operation the errors it can answer:
  401 and 403 when it takes a token, 404, 409, 422, 429 (with ``Retry-After``) and 503 always,
  400 and 413 when it takes a body. A new endpoint inherits all of it; it only needs the auth
  decorators of ``accounts.auth`` and flask-smorest's ``@blp.arguments``/``@blp.response``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from apispec import APISpec, BasePlugin
from marshmallow import INCLUDE, Schema, fields

SECURITY_SCHEMES: dict[str, Any] = {
    "staff": {
        "type": "http", "scheme": "bearer",
        "description": "A staff token from POST /api/v1/auth/token (brand console).",
    },
    "consumer": {
        "type": "http", "scheme": "bearer",
        "description": "A consumer token from POST /api/v1/auth/wechat (mini-program).",
    },
}  # fmt: skip

ERRORS: dict[int, str] = {
    400: "Malformed JSON (reason `malformed_json`) or another unreadable request.",
    401: "Missing, invalid or expired token.",
    403: "Authenticated but not allowed (wrong token kind, role).",
    404: "Unknown resource, or another brand's.",
    409: "The resource's state does not allow this.",
    413: "The request body is too large.",
    422: "Validation failed; `errors` names the fields.",
    429: "Rate limited; retry after `Retry-After` seconds.",
    503: "A dependency (Redis, WeChat) is unavailable.",
}
_ALWAYS = (404, 409, 422, 429, 503)
_WITH_TOKEN = (401, 403)
_WITH_BODY = (400, 413)
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


class ErrorSchema(Schema):
    """The error envelope of every error response."""

    class Meta:
        unknown = INCLUDE

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status phrase"})
    message = fields.String(required=True, metadata={"description": "Human-readable text"})
    reason = fields.String(
        required=True, metadata={"description": "Stable snake_case reason, for programs"}
    )
    request_id = fields.String(
        metadata={"description": "The request's id (also the X-Request-Id response header)"}
    )
    errors = fields.Dict(metadata={"description": "Per-field validation messages"})


def document_auth(view: Any, scheme: str, *, optional: bool = False) -> None:
    """Declare on ``view`` (a decorated view function) the security scheme it requires."""
    security: list[dict[str, list[str]]] = [{scheme: []}]
    if optional:
        security.append({})
    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = security
    view._apidoc = apidoc


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        }
    return response


PAGINATION_KEYS = ("total", "total_pages", "page", "first_page", "last_page")
PAGINATION_HEADER: dict[str, Any] = {
    "description": (
        "Paging metadata as JSON: total, total_pages, page, first_page, last_page on every "
        "page (empty and past-the-end pages included), previous_page and next_page when they "
        "exist."
    ),
    "schema": {"type": "string"},
    "example": '{"total": 120, "total_pages": 3, "page": 2, "first_page": 1, "last_page": 3, '
    '"previous_page": 1, "next_page": 3}',
}


def document_pagination(spec: APISpec, response: dict[str, Any]) -> None:
    """``X-Pagination`` on a paged response: a JSON string (a header's value is text)."""
    response.setdefault("headers", {})["X-Pagination"] = deepcopy(PAGINATION_HEADER)


def _refs(node: Any, found: set[str]) -> None:
    """Collect the component schema names referenced anywhere under ``node``."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                found.add(ref.rsplit("/", 1)[1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(schemas[name], found)
        todo.extend(found - seen)
    return seen


def open_response_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Response bodies may gain fields (API.md), so schemas used only in responses do not
    forbid additional properties; request schemas keep refusing unknown fields."""
    schemas = document.get("components", {}).get("schemas", {})
    inputs: set[str] = set()
    outputs: set[str] = set()
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            _refs(operation.get("requestBody"), inputs)
            _refs(operation.get("parameters"), inputs)
            _refs(operation.get("responses"), outputs)
    only_out = _closure(outputs, schemas) - _closure(inputs, schemas)
    for name in only_out:
        if schemas[name].get("additionalProperties") is False:
            del schemas[name]["additionalProperties"]
    return document


class HonestSpec(APISpec):
    """The spec, with response schemas open to added fields (``open_response_schemas``)."""

    def to_dict(self) -> dict[str, Any]:
        """The OpenAPI document."""
        return open_response_schemas(super().to_dict())


class ErrorResponses(BasePlugin):
    """Adds the error responses every operation can give (see the module docstring)."""

    def init_spec(self, spec: APISpec) -> None:
        """Register the security schemes."""
        for name, scheme in SECURITY_SCHEMES.items():
            spec.components.security_scheme(name, scheme)

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        """Add the error responses of each operation of ``path``."""
        for method, operation in (operations or {}).items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            statuses = list(_ALWAYS)
            if operation.get("security"):
                statuses += _WITH_TOKEN
            if "requestBody" in operation:
                statuses += _WITH_BODY
            responses = operation.setdefault("responses", {})
            if not any(str(code).startswith("2") for code in responses):
                # A view that builds its own Response (a stream, a file) still succeeds.
                responses["200"] = {"description": "OK"}
            for status in sorted(statuses):
                if str(status) not in responses and status not in responses:
                    responses[str(status)] = _error_response(status)
