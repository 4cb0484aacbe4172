"""RQ entry points of codes and scans."""

from __future__ import annotations

from anticounterfeit.scans import writebehind
from workers.job import enqueue_after_commit, job

INLINE_CONSUMER = "inline"


@job
def flush_scan_events(
    consumer: str = INLINE_CONSUMER, *, count: int = writebehind.BATCH_SIZE,
    block_ms: int | None = None, more: bool = True,
) -> int:  # fmt: skip
    """Move one batch of scan events into the database: one flush, one commit (the wrapper's).

    Embedded mode runs it inline after each request; with ``more``, a full batch sends the job
    again after the commit for the rest. ``flask scans flush`` runs it in a loop (``more=False``).
    """
    moved = writebehind.flush(consumer, count=count, block_ms=block_ms)
    if more and moved >= count:
        enqueue_after_commit(flush_scan_events, consumer, count=count)
    return moved
