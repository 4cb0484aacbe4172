"""Demo data for the console: six weeks of scans across China, so every chart has a story."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from accounts.models import Brand
from anticounterfeit import service as catalog
from anticounterfeit.models import CodeBatch, ScanEvent
from anticounterfeit.scans.bulkwrite import StoredEvent
from anticounterfeit.scans.state import to_micros
from console import rollups
from core.db import db, utcnow
from profiles.models import Consumer

DAYS = 42
PLACES = (
    ("上海市", "上海市", 31.23, 121.47, 30), ("北京市", "北京市", 39.90, 116.40, 18),
    ("广东省", "广州市", 23.13, 113.26, 14), ("广东省", "深圳市", 22.54, 114.06, 12),
    ("浙江省", "杭州市", 30.27, 120.16, 16), ("四川省", "成都市", 30.66, 104.07, 8),
    ("湖北省", "武汉市", 30.59, 114.31, 6), ("江苏省", "南京市", 32.06, 118.80, 9),
    ("福建省", "福州市", 26.07, 119.30, 4), ("陕西省", "西安市", 34.34, 108.94, 3),
)  # fmt: skip


def seed_demo(brand: Brand, batch: CodeBatch) -> int:
    """Scans of a separate batch over the last six weeks, growing week by week (first use only);
    returns how many were seeded."""
    since = utcnow() - timedelta(days=2)
    if db.session.scalar(select(func.count()).select_from(ScanEvent).where(
            ScanEvent.brand_id == brand.id, ScanEvent.created_at < since)):  # fmt: skip
        return 0
    history = catalog.activate_code_batch(
        catalog.create_code_batch(brand, catalog.NewCodeBatch(str(batch.product_id), 5000))
    )
    rng = random.Random(42)
    shoppers = [Consumer(brand_id=brand.id) for _ in range(60)]
    db.session.add_all(shoppers)
    db.session.flush()
    events, serial, now = [], history.serial_start, utcnow()
    weights = [place[4] for place in PLACES]
    for day in range(DAYS, 0, -1):
        for _ in range(int(12 + (DAYS - day) * 0.8 + rng.randint(0, 6))):
            province, city, lat, lng, _w = rng.choices(PLACES, weights)[0]
            at = now - timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            shopper = rng.choice(shoppers)
            verdict = "suspect_copy" if rng.random() < 0.03 else "authentic"
            events.append(ScanEvent(
                brand_id=brand.id, code_batch_id=history.id, serial=serial, verdict=verdict,
                consumer_id=shopper.id, device_id=f"demo-{shopper.id.hex[:8]}", lat=lat, lng=lng,
                province=province, city=city, created_at=at,
            ))  # fmt: skip
            serial += 1
    db.session.add_all(events)
    db.session.flush()
    rollups.scans_flushed([_stored(e) for e in events])
    return len(events)


def _stored(e: ScanEvent) -> StoredEvent:
    return StoredEvent({
        "id": str(e.id), "brand": str(e.brand_id), "batch": str(e.code_batch_id),
        "at": to_micros(e.created_at), "verdict": e.verdict, "consumer": str(e.consumer_id),
        "province": e.province, "city": e.city,
    })  # fmt: skip
