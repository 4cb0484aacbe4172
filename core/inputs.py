"""Hostile input refused at the edge, for every endpoint at once.

Every JSON body is parsed here (flask-smorest's argument parser and ``request.get_json`` both
come through ``parse_json``): nesting deeper than ``MAX_DEPTH``, integers of more than
``MAX_INT_DIGITS`` digits and the non-JSON constants ``NaN``/``Infinity`` are a 400
``malformed_json``; then every string (object keys included) and every number is checked, and a
string that PostgreSQL or Redis cannot store (a NUL byte, a lone UTF-16 surrogate) or a number
no column can hold is a 422 naming the field. Query strings get the same string check, page
numbers an upper bound, and over-long URLs a JSON 414 instead of the server's HTML.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import flask_smorest.arguments
import flask_smorest.pagination
import marshmallow as ma
from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest.pagination import PaginationParameters
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser

from core.errors import DomainError, InvalidInput

MAX_DEPTH = 32
MAX_INT_DIGITS = 40  # far above any field (bigint is 19 digits), far below int()'s 4300
MAX_INT = 2**63 - 1  # what a PostgreSQL bigint holds
MAX_PAGE = 1_000_000
MAX_URL_LENGTH = 4096
#: Characters no text column can hold: NUL (PostgreSQL text/jsonb) and lone surrogates (not
#: encodable as UTF-8, so neither PostgreSQL nor Redis clients can send them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class MalformedJson(DomainError):
    reason = "malformed_json"
    http_status = 400
    message = "The request body is not valid JSON."


class UriTooLong(DomainError):
    reason = "uri_too_long"
    http_status = 414
    message = "The URL is too long."


def _refuse_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON value.")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedJson(f"A number has more than {MAX_INT_DIGITS} digits.")
    return int(text)


def parse_json(data: bytes | str) -> Any:
    """JSON text to Python values; raises MalformedJson for what json.loads would choke on or
    mis-read (deep nesting, huge integers, NaN/Infinity). Syntax errors stay JSONDecodeError."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_int=_parse_int)
    except RecursionError as exc:
        raise MalformedJson("The JSON is nested too deeply.") from exc
    if _depth(value) > MAX_DEPTH:
        raise MalformedJson(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
    return value


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            items: Any = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in items)
    return deepest


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            return "Contains a NUL byte or an unpaired surrogate, which cannot be stored."
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            return "The number is out of range."
    elif isinstance(value, float) and not math.isfinite(value):
        return "The number is out of range."
    return None


def find_unstorable(value: Any) -> dict[str, Any]:
    """Errors in marshmallow's nested shape for every unstorable string or number in ``value``
    (keys included); empty when everything can be stored."""
    errors: dict[str, Any] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if UNSTORABLE.search(key):
                    _put(errors, (*path, _printable(key)), "The key cannot be stored.")
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(item))
        elif (problem := _problem(item)) is not None:
            _put(errors, path or ("_schema",), problem)
    return errors


def _printable(key: str) -> str:
    return UNSTORABLE.sub("\N{REPLACEMENT CHARACTER}", key)


def _put(errors: dict[str, Any], path: tuple[str, ...], message: str) -> None:
    node = errors
    for part in path[:-1]:
        node = node.setdefault(_printable(part), {})
        if not isinstance(node, dict):
            return
    node.setdefault(_printable(path[-1]), []).append(message)


def check_storable(value: Any, location: str) -> None:
    """Raise a 422 naming every field of ``value`` that cannot be stored."""
    errors = find_unstorable(value)
    if errors:
        raise InvalidInput(errors={location: errors})


def check_text(value: str, field: str) -> None:
    """Raise a 422 naming ``field`` if the text (a cookie, a header) cannot be stored."""
    if UNSTORABLE.search(value):
        raise InvalidInput(f"{field} contains a character that cannot be stored.", field=field)


class EdgeParser(FlaskParser):
    """webargs' Flask parser with the checks above on JSON bodies and query strings."""

    def _raw_load_json(self, req: Request) -> Any:
        if not webargs_core.is_json(req.mimetype):
            return webargs_core.missing
        data = req.get_data(cache=True)
        value = parse_json(data)
        check_storable(value, "json")
        return value

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Parse as webargs does; a page number past ``MAX_PAGE`` is a 422 too."""
        result = super().parse(*args, **kwargs)
        if isinstance(result, PaginationParameters) and result.page > MAX_PAGE:
            raise InvalidInput(errors={"query": {"page": [f"Must be at most {MAX_PAGE}."]}})
        return result

    def load_querystring(self, req: Request, schema: ma.Schema) -> Any:
        errors = {
            key: ["Contains a character that cannot be stored."]
            for key, value in req.args.items(multi=True)
            if UNSTORABLE.search(key) or UNSTORABLE.search(value)
        }
        if errors:
            raise InvalidInput(errors={"query": errors})
        return super().load_querystring(req, schema)


class EdgeJSONProvider(DefaultJSONProvider):
    """``request.get_json`` (and ``app.json.loads``) with the same limits as the API parser."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
    """X-Pagination with every key of API.md on every page (empty and past-the-end too)."""
    total_pages = max(1, -(-item_count // page_size))
    meta = {
        "total": item_count, "total_pages": total_pages, "page": page,
        "first_page": 1, "last_page": total_pages,
    }  # fmt: skip
    if 1 < page <= total_pages:
        meta["previous_page"] = page - 1
    if page < total_pages:
        meta["next_page"] = page + 1
    return meta


def _refuse_long_urls() -> None:
    uri = request.environ.get("RAW_URI") or request.full_path
    if len(uri) > MAX_URL_LENGTH:
        raise UriTooLong(f"The URL is longer than {MAX_URL_LENGTH} characters.")


def install(app: Flask) -> None:
    """Put the checks in front of every endpoint, present and future."""
    # The parsers' instances are bound by the decorators when a view module is imported, so
    # their class is swapped in place: views imported before this call get the checks too.
    flask_smorest.arguments.ArgumentsMixin.ARGUMENTS_PARSER.__class__ = EdgeParser
    flask_smorest.pagination.PaginationMixin.PAGINATION_ARGUMENTS_PARSER.__class__ = EdgeParser
    mixin: Any = flask_smorest.pagination.PaginationMixin
    mixin._make_pagination_metadata = staticmethod(pagination_metadata)
    app.json = EdgeJSONProvider(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented field order
    app.before_request(_refuse_long_urls)
