"""gunicorn settings read from the working directory (``gunicorn "app:create_app()"``).

Request lines up to gunicorn's ceiling (8190 bytes) reach the app, which answers URLs over its
own limit with the JSON error envelope (414 ``uri_too_long``); what gunicorn itself still
refuses (longer lines, malformed requests, oversized header fields) is answered with the same
envelope instead of gunicorn's HTML page.
"""

from __future__ import annotations

import json
import os
from typing import Any

import gunicorn.util

limit_request_line = 8190

_REASONS = {400: "bad_request", 414: "uri_too_long", 431: "request_header_fields_too_large"}


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own refusals as the API's error envelope."""
    body = json.dumps({
        "code": status_int, "status": reason, "message": "The request could not be read.",
        "reason": _REASONS.get(status_int, "bad_request"),
    }).encode()  # fmt: skip
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn.util.write_nonblock(sock, head.encode("latin1") + body)


gunicorn.util.write_error = _write_json_error


def on_starting(_server: Any) -> None:
    """Refuse to serve on a Redis that may evict keys (``core.broker.check_no_eviction``)."""
    from redis import Redis

    from core.broker import UnsafeRedis, check_no_eviction

    if os.environ.get("REDIS_URL"):
        try:
            check_no_eviction(Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5))
        except UnsafeRedis as exc:
            raise SystemExit(f"refusing to start: {exc.message}") from exc
