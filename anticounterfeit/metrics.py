"""Scan gauges for ``/metrics``: the write-behind backlog (read from Redis at scrape time)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from anticounterfeit.scans.record import INVALID_SCAN_STREAM
from anticounterfeit.scans.state import EVENTS
from anticounterfeit.scans.writebehind import DEAD_LETTERS, GROUP
from core.broker import redis_client
from core.metrics import Gauge


def gauges() -> list[Gauge]:
    """Scan events not yet in PostgreSQL, those being written, dead letters, forged codes kept."""
    redis: Any = redis_client()
    streams = Gauge("yiwuyima_scan_stream_entries", "Entries in the scan Redis streams.",
                    ("stream",))  # fmt: skip
    streams.values = {("events",): float(redis.xlen(EVENTS)),
                      ("dead_letters",): float(redis.xlen(DEAD_LETTERS)),
                      ("forged",): float(redis.xlen(INVALID_SCAN_STREAM))}  # fmt: skip
    pending = Gauge("yiwuyima_scan_stream_pending", "Scan events read by a flusher, not yet "
                    "acknowledged (written once their flush commits).")  # fmt: skip
    try:
        summary: Any = redis.xpending(EVENTS, GROUP)
        pending.values[()] = float(summary.get("pending", 0))
    except ResponseError:  # no consumer group yet: nothing read
        pending.values[()] = 0.0
    return [streams, pending]
