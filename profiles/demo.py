"""Demo data for consumers: consents, scans, ratings, preferences and a segment (idempotent)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from accounts.auth import ConsumerIdentity
from accounts.models import Brand, Role, StaffUser
from anticounterfeit.models import CodeBatch, ScanEvent
from anticounterfeit.scans import writebehind
from anticounterfeit.scans.record import Location, ScanInput, scan
from core.db import db
from profiles import consents, voice
from profiles.inputs import PreferencesInput, RatingInput, WishInput
from profiles.models import Consumer, Segment
from profiles.segments import service as segments

SHOPPERS = 30  # 20 of them in Zhejiang: the demo segment reaches min_segment_size (20)
PLACES = [(30.27, 120.15), (30.29, 120.21), (31.23, 121.47)]  # Hangzhou x2, Shanghai
INTERESTS = [["绿茶", "礼盒"], ["绿茶"], ["冷泡", "小包装"]]
SEGMENT_RULE = {
    "all": [
        {"field": "province", "op": "eq", "value": "浙江省"},
        {"field": "lifecycle", "op": "in", "value": ["new", "active"]},
    ]
}


def _identity(consumer: Consumer) -> ConsumerIdentity:
    return ConsumerIdentity(consumer.id, consumer.brand_id)


def seed_consumers(brand: Brand, batch: CodeBatch, shopper: Consumer) -> Segment:
    """Consenting demo shoppers who scanned the last codes of the batch, rated and said what
    they like; and a segment of them. The printed demo shopper consents too."""
    existing = db.session.scalar(select(Segment).where(Segment.brand_id == brand.id))
    if existing is not None:
        return existing
    consents.set_consents(_identity(shopper), {"profiling": True, "marketing": True}, None)
    people = []
    for _ in range(SHOPPERS):
        consumer = Consumer(brand_id=brand.id)
        db.session.add(consumer)
        db.session.flush()
        consents.set_consents(_identity(consumer), {"profiling": True, "marketing": True}, None)
        people.append(consumer)
    db.session.flush()
    scans = {}
    for i, consumer in enumerate(people):  # the last codes: the printed first ones stay fresh
        serial = batch.serial_start + batch.quantity - 1 - i
        lat, lng = PLACES[i % len(PLACES)]
        facts = ScanInput(
            raw=_code(batch, serial), consumer_id=consumer.id, consumer_brand_id=brand.id,
            location=Location(lat, lng, 30), device_id=f"demo-{i}",
        )  # fmt: skip
        scans[consumer.id] = scan(facts).scan_id
    db.commit()
    while writebehind.flush("demo"):
        pass
    for i, consumer in enumerate(people):
        who = _identity(consumer)
        if db.session.get(ScanEvent, scans[consumer.id]) is not None and i % 2 == 0:
            voice.rate(who, RatingInput(str(scans[consumer.id]), 4 + i % 2, ["香"], None))
        wishes = [WishInput("桂花味 osmanthus")] if i % 3 == 0 else []
        voice.set_preferences(who, PreferencesInput(INTERESTS[i % 3], wishes))
    owner = db.session.scalar(
        select(StaffUser).where(StaffUser.brand_id == brand.id, StaffUser.role == Role.owner)
    )
    assert owner is not None
    created = segments.create_segment(brand, owner, "浙江活跃茶客 Zhejiang tea lovers",
                                      SEGMENT_RULE)  # fmt: skip
    db.commit()
    segment = db.session.get(Segment, uuid.UUID(created["id"]))
    assert segment is not None
    return segment


def _code(batch: CodeBatch, serial: int) -> str:
    from flask import current_app

    from anticounterfeit import codes
    from anticounterfeit import service as catalog

    job = catalog.print_job(batch, current_app.config["PUBLIC_BASE_URL"])
    ((_, code, _),) = list(codes.encode_range(job.key, serial, serial + 1))
    return code
