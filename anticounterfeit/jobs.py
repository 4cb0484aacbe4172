"""RQ entry points of codes and scans."""

from __future__ import annotations

from anticounterfeit.scans import writebehind
from workers.job import job

INLINE_CONSUMER = "inline"


@job
def flush_scan_events() -> int:
    """Move every pending scan event into the database (embedded mode runs this inline)."""
    total = 0
    while moved := writebehind.flush(INLINE_CONSUMER):
        total += moved
    return total
