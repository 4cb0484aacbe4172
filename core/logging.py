"""Structured logs: one JSON object per line, each carrying the request id it belongs to.

The request id comes from the client's ``X-Request-Id`` (when it is a sane token) or is made
here; it is returned in the response header and the error envelope, stored in the meta of the
jobs the request enqueued, and set again while those jobs run, so a worker's lines carry the id
of the request that caused them. ``LOG_FORMAT=json`` (the default) or ``text`` (``make run``).
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token

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
