"""Recording a scan and deriving its verdict (steps 1-3 of the scan, DESIGN.md).

Forged codes are rejected from memory (the key ring) and logged to a capped Redis stream: no
database query. Genuine codes cost one batch lookup; scans of active codes then take the code's
row lock (``INSERT .. ON CONFLICT DO NOTHING`` + ``SELECT .. FOR UPDATE``), so concurrent first
scans of one code serialise and exactly one of them is the first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from anticounterfeit import codes, gs1
from anticounterfeit.errors import PinLocked
from anticounterfeit.geo import Region, region_for
from anticounterfeit.keys import LoadedKey, keyring
from anticounterfeit.models import BatchStatus, CodeBatch, CodeState, ScanEvent
from anticounterfeit.verdicts import Assessment, Sighting, Verdict, assess
from app import db
from core.db import new_id, utcnow
from core.errors import RateLimited
from core.ratelimit import Limit, check, hit
from workers.broker import redis_client

PIN_FAILURES = Limit("pin-fail", count=5, seconds=3600)
INVALID_SCAN_STREAM = "scans:invalid"
INVALID_SCAN_STREAM_MAX = 100_000
HISTORY_LIMIT = 200
COUNTED = (Verdict.authentic, Verdict.authentic_repeat, Verdict.suspect_copy)


@dataclass(frozen=True)
class Location:
    """Where the shopper was, as the phone reported it."""

    lat: float
    lng: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class ScanInput:
    """The facts of one scan, resolved by the caller (no request object here)."""

    raw: str
    consumer_id: uuid.UUID | None = None
    consumer_brand_id: uuid.UUID | None = None
    device_id: str | None = None
    pin: str | None = None
    location: Location | None = None
    scene: int | None = None
    ip: str | None = None


@dataclass
class ScanResult:
    """What the scan established; ``batch`` and ``state`` are None for counterfeit codes."""

    scan_id: uuid.UUID
    verdict: Verdict
    why: str
    code: str | None = None
    serial: int | None = None
    batch: CodeBatch | None = None
    state: CodeState | None = None
    assessment: Assessment | None = None
    pin_verified: bool | None = None
    region: Region | None = None
    consumer_id: uuid.UUID | None = None
    #: True when this is the code's first counted scan by a logged-in consumer (rewards).
    first_consumer_scan: bool = False
    facts: dict[str, float] = field(default_factory=dict)


def _log_invalid(facts: ScanInput, why: str) -> None:
    """A forged code is a counterfeit signal: keep it, cheaply, in a capped Redis stream."""
    redis_client().xadd(
        INVALID_SCAN_STREAM,
        {"code": facts.raw[:80], "why": why, "ip": facts.ip or "", "device": facts.device_id or ""},
        maxlen=INVALID_SCAN_STREAM_MAX,
        approximate=True,
    )


def _counterfeit(facts: ScanInput, why: str) -> ScanResult:
    _log_invalid(facts, why)
    return ScanResult(new_id(), Verdict.counterfeit, why)


def _verified(facts: ScanInput) -> tuple[LoadedKey, codes.DecodedCode, str, str | None] | None:
    try:
        scanned = gs1.parse_scanned(facts.raw)
        loaded = keyring().lookup(codes.parse_key_id(scanned.code))
    except codes.MalformedCode:
        return None
    if loaded is None or loaded.revoked:
        return None
    decoded = codes.verify(scanned.code, loaded.key)
    return (loaded, decoded, scanned.code, scanned.gtin) if decoded else None


def find_batch(loaded: LoadedKey, serial: int) -> CodeBatch | None:
    """The code batch whose serial range holds ``serial`` (one indexed query)."""
    batch = db.session.scalar(
        select(CodeBatch)
        .where(CodeBatch.code_key_id == loaded.record_id, CodeBatch.serial_start <= serial)
        .order_by(CodeBatch.serial_start.desc())
        .limit(1)
    )
    return batch if batch is not None and serial < batch.serial_stop else None


def _check_pin(loaded: LoadedKey, batch: CodeBatch, serial: int, pin: str | None) -> bool | None:
    """Check a scratch-off PIN; after five wrong ones the code's PIN checks lock for an hour."""
    if pin is None:
        return None
    redis, subject = redis_client(), f"{loaded.key.key_id}:{serial}"
    try:
        check(redis, PIN_FAILURES, subject)
        if codes.check_pin(loaded.key, serial, pin, batch.pin_digits):
            return True
        hit(redis, PIN_FAILURES, subject)
    except RateLimited as exc:
        raise PinLocked(retry_after=exc.retry_after) from exc
    return False


def scan(facts: ScanInput) -> ScanResult:
    """Verify a scanned code, record the scan, and derive its verdict."""
    verified = _verified(facts)
    if verified is None:
        return _counterfeit(facts, "counterfeit")
    loaded, decoded, code, gtin = verified
    batch = find_batch(loaded, decoded.serial)
    if batch is None:
        return _counterfeit(facts, "counterfeit")
    if gtin is not None and gtin != batch.product.gtin:
        return _counterfeit(facts, "gtin_mismatch")
    consumer_id = facts.consumer_id if facts.consumer_brand_id == batch.brand_id else None
    pin_verified = _check_pin(loaded, batch, decoded.serial, facts.pin)
    result = ScanResult(
        new_id(), Verdict.authentic, "first_scan", code=code, serial=decoded.serial, batch=batch,
        pin_verified=pin_verified, consumer_id=consumer_id,
    )  # fmt: skip
    if facts.location is not None:
        result.region = region_for(facts.location.lat, facts.location.lng)
    if batch.status is BatchStatus.active:
        _record_active(result, facts)
    else:
        status = Verdict.revoked if batch.status is BatchStatus.revoked else Verdict.not_activated
        result.verdict, result.why = status, status.value
        _add_event(result, facts, None)
    return result


def _lock_state(batch: CodeBatch, serial: int, now: datetime, region: Region | None) -> CodeState:
    """The code's state row, created if this is its first scan, locked until commit."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(CodeState)
        .values(
            id=new_id(),
            brand_id=batch.brand_id,
            code_key_id=batch.code_key_id,
            serial=serial,
            code_batch_id=batch.id,
            scan_count=0,
            distinct_consumers=0,
            distinct_devices=0,
            first_scanned_at=now,
            last_scanned_at=now,
            is_suspect=False,
            first_region=region.province if region else None,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["code_key_id", "serial"])
    )
    state = db.session.scalar(
        select(CodeState)
        .where(CodeState.code_key_id == batch.code_key_id, CodeState.serial == serial)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert state is not None
    return state


def _history(state: CodeState) -> list[Sighting]:
    if state.scan_count == 0:
        return []
    rows = db.session.execute(
        select(
            ScanEvent.created_at,
            ScanEvent.consumer_id,
            ScanEvent.device_id,
            ScanEvent.lat,
            ScanEvent.lng,
            ScanEvent.accuracy_m,
            ScanEvent.ip,
        )  # fmt: skip
        .where(ScanEvent.code_state_id == state.id, ScanEvent.verdict.in_(COUNTED))
        .order_by(ScanEvent.created_at.desc())
        .limit(HISTORY_LIMIT)
    )
    return [
        Sighting(at, str(cid) if cid else None, dev, lat, lng, acc, ip)
        for at, cid, dev, lat, lng, acc, ip in rows
    ]


def _record_active(result: ScanResult, facts: ScanInput) -> None:
    assert result.batch is not None and result.serial is not None
    now = utcnow()
    state = _lock_state(result.batch, result.serial, now, result.region)
    previous = _history(state)
    loc = facts.location
    current = Sighting(
        now, str(result.consumer_id) if result.consumer_id else None, facts.device_id,
        loc.lat if loc else None, loc.lng if loc else None, loc.accuracy_m if loc else None,
        facts.ip,
    )  # fmt: skip
    assessment = assess(previous, current)
    result.verdict, result.why, result.assessment = assessment.verdict, assessment.why, assessment
    result.first_consumer_scan = current.consumer_id is not None and not any(
        s.consumer_id for s in previous
    )
    state.scan_count += 1
    state.distinct_consumers = assessment.people
    state.distinct_devices = assessment.devices
    state.last_scanned_at = now
    state.is_suspect = state.is_suspect or assessment.verdict is Verdict.suspect_copy
    if state.first_consumer_id is None and result.consumer_id is not None:
        state.first_consumer_id = result.consumer_id
    result.state = state
    _add_event(result, facts, state)


def _add_event(result: ScanResult, facts: ScanInput, state: CodeState | None) -> None:
    assert result.batch is not None and result.serial is not None
    loc, region = facts.location, result.region
    db.session.add(
        ScanEvent(
            id=result.scan_id,
            brand_id=result.batch.brand_id,
            code_batch_id=result.batch.id,
            code_state_id=state.id if state else None,
            serial=result.serial,
            verdict=result.verdict.value,
            consumer_id=result.consumer_id,
            device_id=facts.device_id,
            ip=facts.ip,
            lat=loc.lat if loc else None,
            lng=loc.lng if loc else None,
            accuracy_m=loc.accuracy_m if loc else None,
            province=region.province if region else None,
            city=region.city if region else None,
            scene=facts.scene,
            pin_verified=result.pin_verified,
        )  # fmt: skip
    )
    db.session.flush()
