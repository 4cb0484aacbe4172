"""Load what the rules look at (``fraud.rules.Facts``) from PostgreSQL and Redis.

For a set of scans being checked: every scan of the brand in the last ``LOOKBACK`` by the same
consumers, devices or IP addresses; the ``suspect_copy`` scans of the same code batches; the
forged-code scans from the same IPs and devices (the ``scans:invalid`` stream, attributed to the
brand whose key id the forged code carries); each batch's size and intended market; and the
brand's baseline share of scans made while a cash campaign ran (cached in Redis for ten minutes).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from accounts.models import Brand
from anticounterfeit import codes
from anticounterfeit.keys import keyring
from anticounterfeit.models import CodeBatch, ScanEvent
from anticounterfeit.scans.record import INVALID_SCAN_STREAM
from campaigns.models import Campaign, CampaignKind
from core.broker import redis_client
from core.db import db, utcnow
from fraud.rules import Facts, ForgedFact, ScanFact

LOOKBACK = timedelta(days=30)
MAX_SCANS = 20_000
MAX_FORGED = 20_000
CASH_SHARE_TTL = 600


def _cash_running(at_column: Any, brand_id: uuid.UUID) -> Any:
    """SQL: a red-packet campaign of the brand had been activated and was running at that time."""
    return exists().where(
        Campaign.brand_id == brand_id,
        Campaign.kind == CampaignKind.red_packet,
        Campaign.activated_at.is_not(None),
        Campaign.activated_at <= at_column,
        Campaign.starts_at <= at_column,
        func.coalesce(Campaign.ended_at, Campaign.ends_at) > at_column,
    )


def _to_fact(row: Any) -> ScanFact:
    return ScanFact(
        str(row.id), row.created_at, str(row.code_batch_id), row.serial, row.verdict,
        str(row.consumer_id) if row.consumer_id else None, row.device_id, row.ip, row.lat,
        row.lng, row.province, row.city, bool(row.cash),
    )  # fmt: skip


def _scan_rows(brand_id: uuid.UUID, condition: Any, since: datetime) -> list[ScanFact]:
    query = (
        select(ScanEvent, _cash_running(ScanEvent.created_at, brand_id).label("cash"))
        .where(ScanEvent.brand_id == brand_id, ScanEvent.created_at >= since, condition)
        .order_by(ScanEvent.created_at.desc())
        .limit(MAX_SCANS)
    )
    facts = []
    for event, cash in db.session.execute(query):
        event.cash = cash
        facts.append(_to_fact(event))
    return facts


def checked_scans(brand_id: uuid.UUID, scan_ids: Iterable[str]) -> list[ScanFact]:
    """The scans being checked (those the write-behind has stored)."""
    ids = [uuid.UUID(s) for s in scan_ids]
    return _scan_rows(brand_id, ScanEvent.id.in_(ids), utcnow() - LOOKBACK * 12)


def related_scans(
    brand_id: uuid.UUID, scans: Sequence[ScanFact], since: datetime
) -> list[ScanFact]:
    """The brand's recent scans by the same subjects, and suspect copies of the same batches."""
    consumers = {uuid.UUID(s.consumer_id) for s in scans if s.consumer_id}
    devices = {s.device_id for s in scans if s.device_id}
    ips = {s.ip for s in scans if s.ip}
    batches = {uuid.UUID(s.code_batch_id) for s in scans}
    condition = or_(
        ScanEvent.consumer_id.in_(consumers), ScanEvent.device_id.in_(devices),
        ScanEvent.ip.in_(ips),
        and_(ScanEvent.code_batch_id.in_(batches), ScanEvent.verdict == "suspect_copy"),
    )  # fmt: skip
    return _scan_rows(brand_id, condition, since)


def _brand_of_forged(code: str) -> uuid.UUID | None:
    try:
        loaded = keyring().lookup(codes.parse_key_id(code))
    except codes.MalformedCode:
        return None
    return loaded.brand_id if loaded else None


def forged_entries(since: datetime, until: str = "+") -> list[tuple[str, dict[str, str]]]:
    """Entries of the forged-code stream from ``since`` (newest first), decoded."""
    start = int(since.timestamp() * 1000)
    entries: Any = redis_client().xrevrange(INVALID_SCAN_STREAM, until, start, count=MAX_FORGED)
    return [
        (entry_id.decode(), {k.decode(): v.decode(errors="replace") for k, v in fields.items()})
        for entry_id, fields in entries
    ]


def brand_of_forged(fields: dict[str, str]) -> uuid.UUID | None:
    """The brand whose key id a forged code carries (None: not one of ours at all)."""
    return _brand_of_forged(fields.get("code", ""))


def forged_from(
    brand_id: uuid.UUID, ips: set[str], devices: set[str], since: datetime
) -> list[ForgedFact]:
    """Forged-code scans of this brand's key ids from these IPs or devices."""
    forged = []
    for entry_id, fields in forged_entries(since):
        ip, device = fields.get("ip", ""), fields.get("device", "")
        ours = (ip and ip in ips) or (device and device in devices)
        if ours and brand_of_forged(fields) == brand_id:
            at = datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, tz=since.tzinfo)
            forged.append(ForgedFact(at, ip or None, device or None))
    return forged


def forged_scans(
    brand_id: uuid.UUID, scans: Sequence[ScanFact], since: datetime
) -> list[ForgedFact]:
    """Forged-code scans from the IPs or devices of these scans."""
    ips = {s.ip for s in scans if s.ip}
    devices = {s.device_id for s in scans if s.device_id}
    return forged_from(brand_id, ips, devices, since)


def cash_share(brand_id: uuid.UUID, since: datetime) -> float:
    """The share of the brand's recent scans made while a cash campaign ran (cached)."""
    redis, key = redis_client(), f"fraud:cashshare:{brand_id}"
    cached: Any = redis.get(key)
    if cached is not None:
        return float(cached)
    total, cash = db.session.execute(
        select(
            func.count(),
            func.count().filter(_cash_running(ScanEvent.created_at, brand_id)),
        ).where(ScanEvent.brand_id == brand_id, ScanEvent.created_at >= since)
    ).one()
    share = (cash / total) if total else 0.0
    redis.set(key, share, ex=CASH_SHARE_TTL)
    return share


def batch_facts(batch_ids: Iterable[str]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Each batch's size and intended market (provinces; empty when not set)."""
    rows = db.session.execute(
        select(CodeBatch.id, CodeBatch.quantity).where(
            CodeBatch.id.in_([uuid.UUID(b) for b in set(batch_ids)])
        )
    )
    return {str(i): int(q) for i, q in rows}, {}


def load(
    brand: Brand, scan_ids: Iterable[str], markets: dict[str, list[str]]
) -> tuple[Facts, list[ScanFact]]:
    """The facts around ``scan_ids`` and the checked scans themselves."""
    since = utcnow() - LOOKBACK
    checked = checked_scans(brand.id, scan_ids)
    related = {s.scan_id: s for s in related_scans(brand.id, checked, since)}
    related.update({s.scan_id: s for s in checked})
    scans = sorted(related.values(), key=lambda s: s.at)
    sizes, _ = batch_facts(s.code_batch_id for s in scans)
    facts = Facts(scans, forged_scans(brand.id, checked, since), markets, sizes,
                  cash_share(brand.id, since))  # fmt: skip
    return facts, checked
