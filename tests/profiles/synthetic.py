"""Synthetic derived profiles, written straight into the tables the jobs maintain."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from core.db import db, new_id, utcnow


def plant(
    brand: Any,
    n: int,
    *,
    place: tuple[str, str] = ("浙江省", "杭州市"),
    product_id: uuid.UUID | None = None,
    category: str = "",
    rating: float | None = None,
    first_days_ago: float = 60,
    last_days_ago: float = 1,
    scans_90d: int = 1,
    reward_ratio: float = 0.0,
    interests: tuple[str, ...] = (),
    scanned_days_ago: tuple[float, ...] = (),
    marketing: bool = False,
) -> list[uuid.UUID]:
    """``n`` consumers with identical profiles; their ids."""
    from profiles.derived import lists
    from profiles.models import (
        ConsentRecord,
        Consumer,
        ConsumerProfile,
        ProfileCity,
        ProfileInterest,
        ProfileProduct,
        ProfileScan,
    )

    now = utcnow()
    ids = []
    for _ in range(n):
        consumer = Consumer(brand_id=brand.id)
        db.session.add(consumer)
        db.session.flush()
        cid = consumer.id
        ids.append(cid)
        first, last = now - timedelta(days=first_days_ago), now - timedelta(days=last_days_ago)
        db.session.add(ConsumerProfile(
            consumer_id=cid, brand_id=brand.id, first_scan_at=first, last_scan_at=last,
            scan_count=max(scans_90d, 1), scans_90d=scans_90d, reward_scans=0,
            reward_ratio=reward_ratio, rating_count=1 if rating else 0, rating_avg=rating,
        ))  # fmt: skip
        db.session.add(ProfileCity(consumer_id=cid, province=place[0], city=place[1],
                                   brand_id=brand.id, scans=1, last_at=last))  # fmt: skip
        if product_id is not None:
            db.session.add(ProfileProduct(consumer_id=cid, product_id=product_id,
                                          brand_id=brand.id, category=category, scans=1,
                                          last_at=last))  # fmt: skip
        for interest in interests:
            db.session.add(ProfileInterest(consumer_id=cid, interest=interest,
                                           brand_id=brand.id, source="stated"))  # fmt: skip
        for days in scanned_days_ago:
            assert product_id is not None
            db.session.add(ProfileScan(
                scan_id=new_id(), brand_id=brand.id, consumer_id=cid, product_id=product_id,
                province=place[0], city=place[1], at=now - timedelta(days=days),
            ))  # fmt: skip
        if marketing:
            db.session.add(ConsentRecord(brand_id=brand.id, consumer_id=cid, purpose="marketing",
                                         granted=True, notice_version="2026-11-01"))  # fmt: skip
    db.session.flush()
    lists.sync(ids)  # what the profile jobs do after writing the narrow tables
    return ids


def at(days_ago: float) -> datetime:
    """A moment ``days_ago`` days before now."""
    return utcnow() - timedelta(days=days_ago)
