"""Validation against GS1's EPCIS 2.0 JSON schema, vendored in ``schema/`` (see its NOTICE).

The schema asks for the ``uri`` and ``date-time`` formats; they are checked here by two small
functions (RFC 3986's scheme-and-rest shape, RFC 3339 with an explicit offset) rather than by
optional packages. The validator is compiled once per process, on first use: capture and the
tests call it, the scan path never does.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
MAX_PROBLEMS = 20
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+\-]\d{2}:\d{2})$")


def is_uri(value: object) -> bool:
    """An absolute URI (scheme, colon, no spaces or characters RFC 3986 excludes)."""
    return not isinstance(value, str) or bool(_URI.match(value))


def is_date_time(value: object) -> bool:
    """An RFC 3339 date-time with an explicit offset."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uri")(is_uri)
    checker.checks("date-time")(is_date_time)
    return checker


@cache
def validator() -> Draft7Validator:
    """The compiled EPCIS 2.0 document validator (documents, query documents, events)."""
    schema = json.loads((SCHEMA_DIR / "EPCISDocument.schema.json").read_text("utf-8"))
    return Draft7Validator(schema, format_checker=_format_checker())


MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database takes them


def text_problems(document: Any) -> list[dict[str, Any]]:
    """Nesting deeper than ``MAX_DEPTH`` or strings a database cannot store (checked before
    the schema, which would recurse as deep as the document does)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            return [{"path": pointer or "/", "problem": "too_deep",
                     "message": f"nested deeper than {MAX_DEPTH} levels"}]  # fmt: skip
        if isinstance(value, dict):
            for key, item in value.items():
                if _UNSTORABLE.search(key):
                    return [_unstorable(pointer)]
                stack.append((item, f"{pointer}/{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            return [_unstorable(pointer)]
    return []


def _unstorable(pointer: str) -> dict[str, Any]:
    return {"path": pointer or "/", "problem": "bad_text",
            "message": "NUL characters and unpaired surrogates are not allowed"}  # fmt: skip


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def _describe(error: ValidationError) -> dict[str, Any]:
    specific = best_match(error.context) if error.context else None
    chosen = specific if specific is not None and len(specific.absolute_path) else error
    return {"path": _pointer(chosen), "problem": "schema", "message": chosen.message[:300]}


def schema_problems(document: Any) -> list[dict[str, Any]]:
    """Where and why ``document`` fails the EPCIS 2.0 JSON schema (empty when it passes)."""
    shallow = text_problems(document)
    if shallow:
        return shallow
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    problems: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        problem = _describe(error)
        key = (problem["path"], problem["message"])
        if key not in seen:
            seen.add(key)
            problems.append(problem)
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems
