"""gunicorn settings read from the working directory (``gunicorn "app:create_app()"``).

Request lines up to gunicorn's ceiling (8190 bytes) reach the app, which answers URLs over its
own limit with the JSON error envelope (414 ``uri_too_long``); what gunicorn itself still
refuses (longer lines, malformed requests, oversized header fields) is answered with the same
envelope instead of gunicorn's HTML page.

Metrics are the whole service's, not one worker's: every worker writes its counters to
``PROMETHEUS_MULTIPROC_DIR`` (made here when the environment does not name one, and emptied
when gunicorn starts), ``/metrics`` sums them, and ``child_exit`` retires a dead worker's live
gauges (its counters stay counted).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import gunicorn.util

limit_request_line = 8190

# Idle keep-alive connections stay open 75 s (gunicorn's default is 2 s, meant for clients
# connected directly). Behind a load balancer the server must not close a connection the
# balancer may be reusing (AWS ALB and nginx keep upstream connections 60 s): a request sent as
# gunicorn closes it fails at the balancer. Kept-alive connections wait in gthread's poller, not
# in a thread; ``worker_connections`` (1000) bounds them.
keepalive = 75

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

# Set before any worker imports prometheus_client (workers inherit the master's environment).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="yiwuyima-metrics-")


def _log_config() -> dict[str, Any] | None:
    """gunicorn's own lines (start-up, worker exits) in the app's ``LOG_FORMAT`` too."""
    if os.environ.get("LOG_FORMAT", "json").strip().lower() != "json":
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from core.logging import JsonFormatter

    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "root": {"level": "INFO", "handlers": []},  # the app adds its own (core.logging)
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
        },
    }  # fmt: skip


logconfig_dict = _log_config() or {}


def _empty_metrics_dir() -> None:
    """Counts start from zero with the server (Prometheus sees a counter reset, as it should)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker exited: its live gauges no longer count (prometheus-client multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_starting(_server: Any) -> None:
    """Refuse to serve on a Redis that may evict keys (``core.broker.check_no_eviction``);
    start the metrics from zero."""
    from redis import Redis

    _empty_metrics_dir()

    from core.broker import UnsafeRedis, check_no_eviction

    if os.environ.get("REDIS_URL"):
        try:
            check_no_eviction(Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5))
        except UnsafeRedis as exc:
            raise SystemExit(f"refusing to start: {exc.message}") from exc


def post_worker_init(_worker: Any) -> None:
    """Move what the loaded app holds (~200,000 objects: modules, mappers, schemas, routes) out
    of the cyclic garbage collector's reach. A full collection walks every tracked object while
    holding the GIL: measured at ~160 ms on a 2-core machine, a stall of every thread of the
    worker. Frozen objects are never collected, which they would not be anyway: they live as
    long as the worker."""
    import gc

    gc.collect()
    gc.freeze()
