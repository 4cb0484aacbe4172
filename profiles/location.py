"""Coordinates already stored when precise-location consent is withdrawn: coarsen them too."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select, update

from anticounterfeit.geo import city_point, region_for
from anticounterfeit.models import ScanEvent
from anticounterfeit.scans.record import COARSE_ACCURACY_M
from core.db import db
from profiles.flags import load_flags
from workers.job import job


def coarsen_stored(consumer_id: uuid.UUID) -> int:
    """Move the consumer's stored scan coordinates to their city's centroid; how many rows."""
    consumer_brand = db.session.scalar(
        select(ScanEvent.brand_id).where(ScanEvent.consumer_id == consumer_id).limit(1)
    )
    if consumer_brand is None:
        return 0
    if load_flags(consumer_id, consumer_brand).precise_location:
        return 0  # granted again meanwhile
    rows = db.session.execute(
        select(ScanEvent.id, ScanEvent.lat, ScanEvent.lng).where(
            ScanEvent.consumer_id == consumer_id, ScanEvent.lat.is_not(None)
        )
    ).all()
    changed = 0
    for scan_id, lat, lng in rows:
        region = region_for(lat, lng) if lat is not None and lng is not None else None
        point = city_point(region) if region else None
        if point == (lat, lng):
            continue
        values: dict[str, float | None] = {"lat": None, "lng": None, "accuracy_m": None}
        if point is not None:
            values = {"lat": point[0], "lng": point[1], "accuracy_m": COARSE_ACCURACY_M}
        db.session.execute(update(ScanEvent).where(ScanEvent.id == scan_id).values(**values))
        changed += 1
    return changed


@job
def coarsen_stored_scans(consumer_id: str) -> int:
    """Job: ``coarsen_stored`` after a withdrawal of precise-location consent."""
    return coarsen_stored(uuid.UUID(consumer_id))


def coarsen_stored_job() -> Callable[[str], int]:
    """The job to send (imported lazily by the consent service)."""
    return coarsen_stored_scans
