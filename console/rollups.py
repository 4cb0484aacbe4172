"""Rollups maintained by the write-behind: each flush adds its scans to ``scan_rollups`` (by
hour) and ``scan_rollup_days`` (the same without the hour, what most reports read) and its
consumers to ``consumer_days`` in the flush's own transaction (one upsert each).

``consumer_days`` is exact (insert or ignore). ``scan_rollups`` adds counts, so a flush replayed
after a crash (its events already stored) would count them twice; ``rebuild`` recomputes recent
days exactly from ``scan_events`` (the ``rebuild_rollups`` sweep runs it for today and yesterday
every ten minutes), so such a drift lasts minutes. Both writers take one lock per brand and day.
Forged codes never reach ``scan_events``: ``count_forged`` adds them from their Redis stream.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, delete, func, literal, select

from anticounterfeit.models import CodeBatch, ScanEvent
from anticounterfeit.scans.bulkwrite import StoredEvent
from anticounterfeit.scans.state import from_micros
from console.models import ConsumerDay, ScanRollup, ScanRollupDay
from core.db import db

CHINA = timedelta(hours=8)
LOCK_KEY = 0x5CA9_0011
RollupKey = tuple[uuid.UUID, date, int, uuid.UUID | None, str, str, str]


def china_day_hour(at: datetime) -> tuple[date, int]:
    """The China-time (UTC+8) day and hour of a moment."""
    local = at.astimezone(UTC) + CHINA
    return local.date(), local.hour


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC moments where a China-time day starts and ends."""
    start = datetime.combine(day, time(), tzinfo=UTC) - CHINA
    return start, start + timedelta(days=1)


def _products(batch_ids: Iterable[str]) -> dict[str, uuid.UUID]:
    ids = {uuid.UUID(b) for b in batch_ids}
    rows = db.session.execute(
        select(CodeBatch.id, CodeBatch.product_id).where(CodeBatch.id.in_(ids))
    )
    return {str(b): p for b, p in rows}


def _insert(model: Any) -> Any:
    return db.insert(model)


def add(counts: Counter[RollupKey]) -> None:
    """Add scan counts to their hourly and daily rollup rows (upserts)."""
    if not counts:
        return
    _lock()
    names = ["brand_id", "day", "hour", "product_id", "province", "city", "verdict"]
    rows = [
        {**dict(zip(names, k, strict=True)), "scans": n}
        for k, n in sorted(counts.items(), key=lambda kv: str(kv[0]))  # one order: no deadlock
    ]  # fmt: skip
    _upsert(ScanRollup, rows, names)
    daily: Counter[tuple[Any, ...]] = Counter()
    for k, n in counts.items():
        daily[(*k[:2], *k[3:])] += n
    day_names = [n for n in names if n != "hour"]
    day_rows = [
        {**dict(zip(day_names, k, strict=True)), "scans": n}
        for k, n in sorted(daily.items(), key=lambda kv: str(kv[0]))
    ]  # fmt: skip
    _upsert(ScanRollupDay, day_rows, day_names)


def _upsert(model: Any, rows: list[dict[str, Any]], key: list[str]) -> None:
    stmt = _insert(model).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=key, set_={"scans": model.scans + stmt.excluded.scans}
    )
    db.session.execute(stmt)


def scans_flushed(events: Sequence[StoredEvent]) -> None:
    """The write-behind listener: count the flushed scans and note their consumers' days."""
    products = _products({str(e.get("batch")) for e in events if e.get("batch")})
    counts: Counter[RollupKey] = Counter()
    days: set[tuple[Any, ...]] = set()
    for e in events:
        product = products.get(str(e.get("batch")))
        if product is None or not e.get("brand"):
            continue
        day, hour = china_day_hour(from_micros(e.get("at")))
        brand = uuid.UUID(str(e.get("brand")))
        place = (e.get("province") or "", e.get("city") or "")
        counts[(brand, day, hour, product, *place, str(e.get("verdict")))] += 1
        if e.get("consumer"):
            days.add((brand, day, product, *place, uuid.UUID(str(e.get("consumer")))))
    add(counts)
    if days:
        rows = [dict(zip(("brand_id", "day", "product_id", "province", "city", "consumer_id"),
                         d, strict=True)) for d in sorted(days, key=str)]  # fmt: skip
        db.session.execute(_insert(ConsumerDay).values(rows).on_conflict_do_nothing())


def _lock() -> None:
    """Serialise rollup writers (the flush's increments and the rebuild's delete-and-insert)."""
    if _postgres():
        db.session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _local_hour() -> Any:
    if _postgres():
        return func.cast(
            func.extract("hour", func.timezone("Asia/Shanghai", ScanEvent.created_at)), Integer
        )
    return func.cast(func.strftime("%H", ScanEvent.created_at, "+8 hours"), Integer)


def rebuild(day: date) -> int:
    """Recompute every brand's rollups of one China-time day from ``scan_events`` (exact);
    returns how many rollup rows the day has.

    Forged-code rows (no product) are kept: they do not come from ``scan_events``."""
    _lock()
    start, end = day_bounds(day)
    db.session.execute(
        delete(ScanRollup).where(ScanRollup.day == day, ScanRollup.product_id.is_not(None))
    )
    hour = _local_hour().label("hour")
    province = func.coalesce(ScanEvent.province, "").label("province")
    city = func.coalesce(ScanEvent.city, "").label("city")
    query = (
        select(ScanEvent.brand_id, literal(day), hour, CodeBatch.product_id, province, city,
               ScanEvent.verdict, func.count())
        .join(CodeBatch, CodeBatch.id == ScanEvent.code_batch_id)
        .where(ScanEvent.created_at >= start, ScanEvent.created_at < end)
        .group_by(ScanEvent.brand_id, hour, CodeBatch.product_id, province, city, ScanEvent.verdict)
    )  # fmt: skip
    columns = ["brand_id", "day", "hour", "product_id", "province", "city", "verdict", "scans"]
    db.session.execute(_insert(ScanRollup).from_select(columns, query))
    _rebuild_daily(day)
    rows = select(func.count()).select_from(ScanRollup).where(ScanRollup.day == day)
    return int(db.session.scalar(rows) or 0)


def _rebuild_daily(day: date) -> None:
    """The day's daily rows from its hourly rows (forged-code rows, added by ``add``, kept)."""
    db.session.execute(
        delete(ScanRollupDay).where(ScanRollupDay.day == day, ScanRollupDay.product_id.is_not(None))
    )
    h = ScanRollup
    query = (
        select(h.brand_id, h.day, h.product_id, h.province, h.city, h.verdict, func.sum(h.scans))
        .where(h.day == day, h.product_id.is_not(None))
        .group_by(h.brand_id, h.day, h.product_id, h.province, h.city, h.verdict)
    )  # fmt: skip
    columns = ["brand_id", "day", "product_id", "province", "city", "verdict", "scans"]
    db.session.execute(_insert(ScanRollupDay).from_select(columns, query))


def _postgres() -> bool:
    return bool(db.session.get_bind().dialect.name == "postgresql")


FORGED_CURSOR = "console:forged:cursor"


def count_forged() -> int:
    """Add the forged-code scans logged since the last call to the rollups, by the brand whose key
    id each carries (verdict ``counterfeit``, no product, no place). Returns how many."""
    from core import txhooks
    from core.broker import redis_client
    from fraud import facts as fraud_facts

    redis = redis_client()
    cursor: Any = redis.get(FORGED_CURSOR)
    after = cursor.decode() if cursor is not None else "0-0"
    entries: Any = redis.xrange(fraud_facts.INVALID_SCAN_STREAM, f"({after}", "+", count=50_000)
    counts: Counter[RollupKey] = Counter()
    for entry_id, fields in entries:
        brand = fraud_facts.brand_of_forged({"code": fields.get(b"code", b"").decode()})
        if brand is not None:
            at = datetime.fromtimestamp(int(entry_id.split(b"-")[0]) / 1000, tz=UTC)
            day, hour = china_day_hour(at)
            counts[(brand, day, hour, None, "", "", "counterfeit")] += 1
    add(counts)
    if entries:
        last = entries[-1][0].decode()

        def advance() -> None:
            redis.set(FORGED_CURSOR, last)

        txhooks.on_commit(db.session(), advance)
    return sum(counts.values())
