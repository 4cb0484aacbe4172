"""Lifecycle stages from first and last scan times, with documented thresholds.

- ``new``: first scan within the last ``NEW_DAYS`` (30) days;
- ``active``: otherwise, last scan within ``ACTIVE_DAYS`` (90) days;
- ``lapsing``: last scan ``ACTIVE_DAYS``-``LAPSED_DAYS`` (90-180) days ago;
- ``lapsed``: last scan more than ``LAPSED_DAYS`` (180) days ago (or never).

The same thresholds drive the SQL expression segments use and the Python export of a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, literal

from profiles.models.profile import ConsumerProfile

NEW_DAYS, ACTIVE_DAYS, LAPSED_DAYS, WINDOW_DAYS = 30, 90, 180, 90
STAGES = ("new", "active", "lapsing", "lapsed")


@dataclass(frozen=True)
class Bounds:
    """The three instants the stages are cut at, for one ``now``."""

    new: datetime
    active: datetime
    lapsing: datetime

    @classmethod
    def at(cls, now: datetime) -> Bounds:
        """The bounds as seen at ``now``."""
        return cls(
            now - timedelta(days=NEW_DAYS),
            now - timedelta(days=ACTIVE_DAYS),
            now - timedelta(days=LAPSED_DAYS),
        )


def stage(first: datetime | None, last: datetime | None, now: datetime) -> str:
    """The stage of one profile at ``now``."""
    b = Bounds.at(now)
    if first is not None and first >= b.new:
        return "new"
    if last is not None and last >= b.active:
        return "active"
    if last is not None and last >= b.lapsing:
        return "lapsing"
    return "lapsed"


def stage_sql(b: Bounds) -> Any:
    """The same as ``stage`` as a SQL expression over ``consumer_profiles``."""
    p = ConsumerProfile
    return case(
        (p.first_scan_at >= b.new, literal("new")),
        (p.last_scan_at >= b.active, literal("active")),
        (p.last_scan_at >= b.lapsing, literal("lapsing")),
        else_=literal("lapsed"),
    )
