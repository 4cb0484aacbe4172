"""The synthetic month, recorded in the database and checked by the real job on a worker: every
ring gets a case, no honest shopper does (the same set the pure rules are tested on)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.fraud import synthetic


def _forged_code(c: Any) -> str:
    """A code with the brand's key id and a wrong MAC."""
    code = c.rows[0][1]
    return code[:-1] + ("A" if code[-1] != "A" else "B")


def _record(world: synthetic.World, c: Any, make_consumer: Any, shift: timedelta) -> dict[str, str]:
    """Write the world's scans as scan events; the map from its names to real ids."""
    from anticounterfeit import service
    from anticounterfeit.models import ScanEvent
    from core.db import db

    batches = {"batch-main": c.batch}
    for name, size in (("batch-leaked", 500), ("batch-export", 1000)):
        new = service.NewCodeBatch(str(c.batch.product_id), size)
        batches[name] = service.create_code_batch(c.brand, new)
    names = {name: str(batch.id) for name, batch in batches.items()}
    for consumer in sorted({s.consumer_id for s in world.scans if s.consumer_id}):
        names[consumer] = str(make_consumer(c.brand).id)
    for s in world.scans:
        db.session.add(ScanEvent(
            brand_id=c.brand.id, code_batch_id=batches[s.code_batch_id].id, serial=s.serial,
            verdict=s.verdict,
            consumer_id=uuid.UUID(names[s.consumer_id]) if s.consumer_id else None,
            device_id=s.device_id, ip=s.ip, lat=s.lat, lng=s.lng, province=s.province,
            city=s.city, created_at=s.at + shift,
        ))  # fmt: skip
    db.session.flush()
    return names


def _cash_weekends(c: Any, shift: timedelta) -> None:
    """The brand's cash campaigns ran on the synthetic month's weekends."""
    from campaigns.models import Campaign, CampaignKind, CampaignStatus
    from core.db import db

    for day in range(-1, 35):
        start = synthetic.START.replace(hour=0) + timedelta(days=day)
        if start.weekday() != 5:
            continue
        db.session.add(Campaign(
            brand_id=c.brand.id, name="weekend", kind=CampaignKind.red_packet,
            status=CampaignStatus.ended, budget=1, starts_at=start + shift,
            ends_at=start + shift + timedelta(days=2), activated_at=start + shift,
            ended_at=start + shift + timedelta(days=2),
        ))  # fmt: skip


def _forged(world: synthetic.World, c: Any, shift: timedelta) -> None:
    from anticounterfeit.scans.record import INVALID_SCAN_STREAM
    from core.broker import redis_client

    for n, f in enumerate(sorted(world.forged, key=lambda f: f.at)):
        ms = int((f.at + shift).timestamp() * 1000)
        redis_client().xadd(INVALID_SCAN_STREAM, {"code": _forged_code(c), "why": "counterfeit",
                                                  "ip": f.ip or "", "device": f.device_id or ""},
                            id=f"{ms}-{n}")  # fmt: skip


def test_the_synthetic_month_checked_by_the_worker(
    make_codes: Any, make_consumer: Any, monkeypatch: Any
) -> None:
    from core.db import db, utcnow
    from fraud import facts
    from fraud.jobs import send_checks, sweep_forged
    from fraud.models import FraudCase
    from tests.workers import run_workers

    monkeypatch.setattr(facts, "LOOKBACK", timedelta(days=45))
    world = synthetic.build()
    weeks = (utcnow() - synthetic.START - timedelta(days=29)) // timedelta(days=7)
    shift = timedelta(days=7 * weeks)  # whole weeks: the weekends stay weekends
    c = make_codes()
    names = _record(world, c, make_consumer, shift)
    _cash_weekends(c, shift)
    _forged(world, c, shift)
    from anticounterfeit.models import ScanEvent

    ids = [str(i) for i in db.session.scalars(select(ScanEvent.id).where(
        ScanEvent.brand_id == c.brand.id))]  # fmt: skip
    send_checks({str(c.brand.id): ids})
    db.commit()
    assert sweep_forged() == len(world.forged)  # the scheduler's minute sweep
    run_workers()
    opened = {(case.kind.value, case.subject) for case in db.session.scalars(
        select(FraudCase).where(FraudCase.brand_id == c.brand.id))}  # fmt: skip

    def real(kind: str, subject: str) -> tuple[str, str]:
        return kind, names.get(subject, subject) if kind in ("consumer", "code_batch") else subject

    bad = {real(*s) for s in world.bad}
    honest = {real(*s) for s in world.honest}
    assert bad <= opened, f"missed: {bad - opened}"
    assert not (honest & opened), f"honest subjects with a case: {honest & opened}"
