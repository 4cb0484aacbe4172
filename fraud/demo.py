"""Demo data for fraud review: a harvester cashing in a code pack, checked into an open case."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accounts.models import Brand
from anticounterfeit import service as catalog
from anticounterfeit.models import CodeBatch, ScanEvent
from core.db import db, utcnow
from fraud import check
from fraud.models import FraudCase
from profiles.models import Consumer

HARVEST = 30


def seed_demo(brand: Brand, batch: CodeBatch) -> FraudCase | None:
    """Thirty codes of one (separate) batch scanned by one account in ten minutes, then checked:
    an open ``batch_harvest`` case with its evidence (created on first use)."""
    existing = db.session.scalar(select(FraudCase).where(FraudCase.brand_id == brand.id).limit(1))
    if existing is not None:
        return existing
    pack = catalog.activate_code_batch(
        catalog.create_code_batch(brand, catalog.NewCodeBatch(str(batch.product_id), 200))
    )
    harvester = Consumer(brand_id=brand.id)
    db.session.add(harvester)
    db.session.flush()
    start = utcnow() - timedelta(hours=3)
    events = [
        ScanEvent(
            brand_id=brand.id,
            code_batch_id=pack.id,
            serial=pack.serial_start + n,
            verdict="authentic",
            consumer_id=harvester.id,
            device_id="demo-harvester-phone",
            ip="198.51.100.23",
            lat=31.23,
            lng=121.47,
            province="上海市",
            city="上海市",
            created_at=start + timedelta(seconds=20 * n),
        )  # fmt: skip
        for n in range(HARVEST)
    ]
    db.session.add_all(events)
    db.session.flush()
    check.check(brand.id, [str(e.id) for e in events])
    return db.session.scalar(select(FraudCase).where(FraudCase.brand_id == brand.id).limit(1))
