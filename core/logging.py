"""Structured logs: one JSON object per line, each carrying the request id it belongs to.

The request id comes from the client's ``X-Request-Id`` (when it is a sane token) or is made
here; it is returned in the response header and the error envelope, stored in the meta of the
jobs the request enqueued, and set again while those jobs run, so a worker's lines carry the id
of the request that caused them. ``LOG_FORMAT=json`` (the default) or ``text`` (``make run``).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
#: What a client may send as its request id (anything else is replaced by a fresh one).
ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str | None:
    """The id of the request (or of the request behind the job) being served, if any."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Token[str | None]:
    """Make ``value`` the current request id; returns the token to ``reset_request_id`` with."""
    return _request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    """Restore the request id that was current before ``bind_request_id``."""
    _request_id.reset(token)


def new_request_id() -> str:
    """A fresh request id (128 random bits, hex)."""
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a sane token, else a fresh id."""
    return value if value and ACCEPTED.match(value) else new_request_id()


#: Attributes every LogRecord has: anything else was passed in ``extra=`` and is logged too.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_MARK = "_yiwuyima_handler"


def _request_id_of(record: logging.LogRecord) -> str | None:
    """The record's request id: given with it, else the current one, else (gunicorn's access
    log, written after the request's context is gone) the response's ``X-Request-Id``."""
    given = getattr(record, "request_id", None) or current_request_id()
    if given is None and isinstance(record.args, Mapping):
        header = record.args.get("{x-request-id}o")
        given = header if isinstance(header, str) else None
    return given


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": _request_id_of(record),
            "pid": record.process,
        }  # fmt: skip
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines (``LOG_FORMAT=text``, ``make run``), with the request id."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = _request_id_of(record) or "-"
        return super().format(record)


def formatter(kind: str) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT`` (``json`` or ``text``)."""
    return TextFormatter() if kind == "text" else JsonFormatter()


_base_factory = logging.getLogRecordFactory()


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = _request_id.get()
    return record


def configure(kind: str, level: str = "INFO") -> None:
    """Send every log record to stderr in ``kind`` format (replacing our earlier handler, so a
    second app in one process does not double the lines). stdout stays for commands' output."""
    logging.setLogRecordFactory(_record)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(kind))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level)


def _begin() -> None:
    rid = accepted_request_id(request.headers.get("X-Request-Id"))
    g.request_id, g.request_id_token = rid, bind_request_id(rid)


def _answer(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-Id"] = rid
    return response


def _end(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        reset_request_id(token)


def install(app: Flask) -> None:
    """Request ids on every request and response; logs in ``LOG_FORMAT``."""
    configure(app.config.get("LOG_FORMAT") or "json", app.config.get("LOG_LEVEL") or "INFO")
    app.before_request(_begin)
    app.after_request(_answer)
    app.teardown_request(_end)
