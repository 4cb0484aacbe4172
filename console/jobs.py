"""Sweeps that keep the rollups exact and complete."""

from __future__ import annotations

from datetime import timedelta

from console import rollups
from core.db import utcnow
from workers.job import job


@job
def rebuild_rollups() -> int:
    """Recompute today's and yesterday's rollups (China time) from ``scan_events``."""
    today = (utcnow() + rollups.CHINA).date()
    return rollups.rebuild(today - timedelta(days=1)) + rollups.rebuild(today)


@job
def count_forged_scans() -> int:
    """Add the forged-code scans logged since the last sweep to the rollups."""
    return rollups.count_forged()
