"""Profile jobs (queue ``default``): sent after the transaction that has the facts commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from profiles.derived import scans, voice, window
from workers.job import enqueue_after_commit, job

#: A flushed batch is split into jobs of at most this many scans.
JOB_SCANS = 1_000


@job
def apply_scans(scan_ids: list[str]) -> int:
    """Apply flushed scans to their consumers' profiles."""
    return scans.apply_scans([uuid.UUID(s) for s in scan_ids])


@job
def refresh_voice(consumer_id: str) -> bool:
    """Recompute one consumer's ratings and stated interests."""
    return voice.refresh_voice(uuid.UUID(consumer_id))


@job
def expire_window() -> int:
    """Sweep: scans older than 90 days leave ``scans_90d`` (batches until done)."""
    total = 0
    while moved := window.expire_window():
        total += moved
    return total


def refresh_voice_job() -> Callable[[str], bool]:
    """The job to send for a rating or preference change."""
    return refresh_voice


def scans_flushed(events: Sequence[Any]) -> None:
    """Called by the scan flusher before it commits a batch: one profile job for the batch's
    logged-in scans (sent after that commit; anonymous scans never concern a profile)."""
    ids = [str(e.get("id")) for e in events if e.get("consumer")]
    for start in range(0, len(ids), JOB_SCANS):
        enqueue_after_commit(apply_scans, ids[start : start + JOB_SCANS])
