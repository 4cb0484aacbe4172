"""Recording a scan and deriving its verdict (steps 1-3 of the scan, DESIGN.md).

The hot path is Redis-first, with PostgreSQL as the durable record written behind:

1. Forged codes are rejected from memory (the key ring) and logged to a capped Redis stream: no
   database query.
2. The code's batch, with its product and lot, comes from a per-process cache of frozen
   snapshots (``anticounterfeit.scans.batchcache``): no query either.
3. One Redis Lua call (``anticounterfeit.scans.state.record``) checks that the cached batch is
   current (a per-key version token that activation, revocation and creation replace: on a
   mismatch it records nothing, the process reloads and retries), updates the code's state
   atomically (count, first scan, first logged-in consumer, the last 200 sightings) and returns
   the previous sightings. Python derives the verdict from them with ``verdicts.assess``, as
   before. Concurrent scans of one code serialise in Redis, so of 50 simultaneous first scans
   exactly one is ``authentic`` and exactly one logged-in scan is the code's first.
4. The scan event goes to a Redis stream (in the same call for a code's first scan, whose verdict
   needs no history; right after it otherwise). A flusher (``flask scans flush --follow``, a
   Procfile process; inline after each request in embedded mode) moves the stream into
   ``scan_events`` and ``code_states`` in bulk, idempotently (the scan id is the primary key;
   code states only move forward), and acknowledges entries only after its commit.

Durability trade-off: a scan is acknowledged to the shopper once Redis has it. What Redis loses
before the flusher commits (with AOF ``everysec``, about the last second; more on a failover to a
lagging replica) is lost from PostgreSQL too: those scan events, and what they taught about their
codes, so such a code can be ``authentic`` (or a consumer's first scan) once more. Anything worth
money must therefore keep its own guard in PostgreSQL (campaigns: one win per code, a unique
constraint), not rely on ``first_consumer_scan`` alone.

Fallback when Redis lost its data: the marker ``scan:v1:complete`` says that Redis knows every
code ever scanned (a bit per code in a per-batch bitmap). It holds the Redis ``run_id`` it was
set under; the flusher (each batch, so within about a second) removes it when that changes
(restart, failover) and sets it again after rebuilding the bitmaps from ``code_states``. While it
is absent, a code with no state in Redis is read from PostgreSQL first (its ``code_states`` row
and last 200 counted events, ``_seed``) and then scanned as usual: two queries slower, and as
current as PostgreSQL, only until the rebuild is done. Per-code state expires after 90 idle days
and is re-read the same way (its bit says it was scanned). Batches come from the cache whatever
happens: a lost token reads as "stale", never as current.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from anticounterfeit import codes, gs1
from anticounterfeit.activation import unit_active
from anticounterfeit.errors import PinLocked
from anticounterfeit.geo import Region, city_point, region_for
from anticounterfeit.keys import LoadedKey, keyring
from anticounterfeit.models import BatchStatus, CodeState, ScanEvent
from anticounterfeit.scans import state as scanstate
from anticounterfeit.scans.batchcache import BatchInfo, batch_cache
from anticounterfeit.scans.notes import Note, notes_for
from anticounterfeit.scans.state import CodeRef, to_micros
from anticounterfeit.verdicts import Assessment, Sighting, Verdict, assess
from core.broker import current_broker, redis_client
from core.db import db, new_id, utcnow
from core.errors import RateLimited
from core.metrics import count_scan
from core.ratelimit import Limit, forgive, hit

PIN_FAILURES = Limit("pin-fail", count=5, seconds=3600)
INVALID_SCAN_STREAM = "scans:invalid"
INVALID_SCAN_STREAM_MAX = 100_000
HISTORY_LIMIT = scanstate.HISTORY_LIMIT
COUNTED = (Verdict.authentic, Verdict.authentic_repeat, Verdict.suspect_copy)
MAX_ATTEMPTS = 5
COARSE_ACCURACY_M = 20_000.0


class ScanContention(RuntimeError):
    """The batch token kept moving while a scan was being recorded (should never happen)."""


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
    #: The consumer consented to ``precise_location``; otherwise coordinates are coarsened to
    #: the city before anything (Redis state, the event stream, PostgreSQL) stores them.
    precise_location: bool = False


@dataclass(frozen=True)
class CodeHistory:
    """A code's counters including this scan (the ``history`` of the scan response)."""

    scan_count: int
    distinct_consumers: int
    first_scanned_at: datetime
    first_region: str | None


@dataclass
class ScanResult:
    """What the scan established; ``batch`` is None for counterfeit codes, ``state`` also for
    codes not yet activated or revoked."""

    scan_id: uuid.UUID
    verdict: Verdict
    why: str
    code: str | None = None
    serial: int | None = None
    batch: BatchInfo | None = None
    state: CodeHistory | None = None
    assessment: Assessment | None = None
    pin_verified: bool | None = None
    region: Region | None = None
    consumer_id: uuid.UUID | None = None
    #: True when this is the code's first counted scan by a logged-in consumer.
    first_consumer_scan: bool = False
    #: True when the scan's consumer is the code's first logged-in consumer, whether this scan
    #: made them so or an earlier one did (rewards: a retry after a failed draw draws again).
    by_first_consumer: bool = False
    facts: dict[str, float] = field(default_factory=dict)
    #: Notes for the explanation from registered sources (``anticounterfeit.scans.notes``).
    notes: list[Note] = field(default_factory=list)


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


def _check_pin(loaded: LoadedKey, batch: BatchInfo, serial: int, pin: str | None) -> bool | None:
    """Check a scratch-off PIN; after five wrong ones the code's PIN checks lock for an hour.

    Count first, then verify: every attempt takes a guess atomically (INCR) before the PIN is
    compared, and a right PIN gives it back. So a parallel burst gets at most five wrong
    comparisons, where checking the count and then recording a failure would let every request
    of the burst pass the check before any failure was written."""
    if pin is None:
        return None
    redis, subject = redis_client(), f"{loaded.key.key_id}:{serial}"
    try:
        hit(redis, PIN_FAILURES, subject)
    except RateLimited as exc:
        raise PinLocked(retry_after=exc.retry_after) from exc
    if codes.check_pin(loaded.key, serial, pin, batch.pin_digits):
        forgive(redis, PIN_FAILURES, subject)
        return True
    return False


def scan(facts: ScanInput) -> ScanResult:
    """Verify a scanned code, record the scan, and derive its verdict."""
    result = _scan(facts)
    count_scan(result.verdict.value)
    if result.verdict in COUNTED:
        result.notes = notes_for(result)
    return result


def _scan(facts: ScanInput) -> ScanResult:
    verified = _verified(facts)
    if verified is None:
        return _counterfeit(facts, "counterfeit")
    loaded, decoded, code, gtin = verified
    batch, token = batch_cache().lookup(redis_client(), loaded.record_id, decoded.serial)
    if batch is None:
        return _counterfeit(facts, "counterfeit")
    if gtin is not None and gtin != batch.product.gtin:
        return _counterfeit(facts, "gtin_mismatch")
    consumer_id = facts.consumer_id if facts.consumer_brand_id == batch.brand_id else None
    result = ScanResult(
        new_id(), Verdict.authentic, "first_scan", code=code, serial=decoded.serial, batch=batch,
        pin_verified=_check_pin(loaded, batch, decoded.serial, facts.pin), consumer_id=consumer_id,
    )  # fmt: skip
    if facts.location is not None:
        result.region = region_for(facts.location.lat, facts.location.lng)
        if not (facts.precise_location and consumer_id is not None):
            facts = replace(facts, location=_coarse(result.region, facts.location))
    _record(result, facts, loaded, token)
    if current_broker().embedded:
        _flush_after_commit()
    return result


def _coarse(region: Region | None, loc: Location) -> Location | None:
    """The city's centroid instead of the point (nothing outside a known region); verdicts
    compare such points with the city-wide accuracy ``COARSE_ACCURACY_M``."""
    point = city_point(region) if region is not None else None
    if point is None:
        return None
    return Location(point[0], point[1], max(loc.accuracy_m or 0.0, COARSE_ACCURACY_M))


def _record(result: ScanResult, facts: ScanInput, loaded: LoadedKey, token: str) -> None:
    """Record the scan in Redis, reloading the batch or seeding the code state when told to."""
    assert result.batch is not None and result.serial is not None
    now = utcnow()
    for _ in range(MAX_ATTEMPTS):
        batch = result.batch
        ref = CodeRef(
            loaded.key.key_id, loaded.record_id, result.serial, batch.id,
            result.serial - batch.serial_start,
        )  # fmt: skip
        if batch.status is BatchStatus.active or unit_active(batch, result.serial):
            status = _record_active(result, facts, ref, token, now)
        else:
            status = _record_inactive(result, facts, ref, token, now)
        if status == "ok":
            return
        if status == "unknown":
            _seed(ref)
            continue
        entry = batch_cache().load(  # stale: the token moved after this copy was read
            redis_client(), loaded.record_id, unless_read_after=time.monotonic()
        )
        reloaded, token = entry.find(result.serial), entry.token
        if reloaded is None:
            raise ScanContention("a batch disappeared")
        result.batch = reloaded
    raise ScanContention(f"scan of {loaded.key.key_id}:{result.serial} kept going stale")


def _record_inactive(
    result: ScanResult, facts: ScanInput, ref: CodeRef, token: str, now: datetime
) -> str:
    assert result.batch is not None
    revoked = result.batch.status is BatchStatus.revoked
    verdict = Verdict.revoked if revoked else Verdict.not_activated
    result.verdict, result.why = verdict, verdict.value
    event = _event(result, facts, now)
    return scanstate.record_inactive(redis_client(), ref, token=token, event=event)


def _sighting(result: ScanResult, facts: ScanInput, now: datetime) -> Sighting:
    loc = facts.location
    return Sighting(
        now, str(result.consumer_id) if result.consumer_id else None, facts.device_id,
        loc.lat if loc else None, loc.lng if loc else None, loc.accuracy_m if loc else None,
        facts.ip,
    )  # fmt: skip


def _record_active(
    result: ScanResult, facts: ScanInput, ref: CodeRef, token: str, now: datetime
) -> str:
    redis = redis_client()
    current = _sighting(result, facts, now)
    province = result.region.province if result.region else None
    first = assess([], current)  # a first scan needs no history: its event goes in the same call
    first_event = _event(
        result, facts, now, first, first_at=now, first_region=province,
        first_consumer=current.consumer_id is not None,
    )  # fmt: skip
    recorded = scanstate.record(
        redis, ref, token=token, now=now, region=province, consumer_id=current.consumer_id,
        sighting=current, first_event=first_event,
    )  # fmt: skip
    if recorded.status != "ok":
        return recorded.status
    assert recorded.first_at is not None
    assessment = first
    if recorded.scan_count > 1:
        assessment = assess(recorded.previous, current)
        event = _event(
            result, facts, now, assessment, first_at=recorded.first_at,
            first_region=recorded.first_region, first_consumer=recorded.first_consumer,
        )  # fmt: skip
        scanstate.append_event(redis, event, recorded.scan_count)
    result.verdict, result.why, result.assessment = assessment.verdict, assessment.why, assessment
    result.first_consumer_scan = recorded.first_consumer
    result.by_first_consumer = recorded.by_first_consumer
    result.state = CodeHistory(
        recorded.scan_count, assessment.people, recorded.first_at, recorded.first_region
    )
    return "ok"


def _event(
    result: ScanResult,
    facts: ScanInput,
    now: datetime,
    assessment: Assessment | None = None,
    *,
    first_at: datetime | None = None,
    first_region: str | None = None,
    first_consumer: bool = False,
) -> dict[str, Any]:
    """The scan event as stored in the stream (fields that would be None are left out)."""
    batch, loc, region = result.batch, facts.location, result.region
    assert batch is not None
    verdict = assessment.verdict if assessment else result.verdict
    fields: dict[str, Any] = {
        "id": str(result.scan_id), "brand": str(batch.brand_id), "batch": str(batch.id),
        "key": str(batch.code_key_id), "serial": result.serial, "verdict": verdict.value,
        "at": to_micros(now), "consumer": str(result.consumer_id) if result.consumer_id else None,
        "device": facts.device_id,
        "ip": facts.ip, "lat": loc.lat if loc else None, "lng": loc.lng if loc else None,
        "acc": loc.accuracy_m if loc else None, "province": region.province if region else None,
        "city": region.city if region else None, "scene": facts.scene,
        "pin": result.pin_verified,
    }  # fmt: skip
    if assessment is not None:
        fields.update(
            people=assessment.people, devices=assessment.devices,
            suspect=assessment.verdict is Verdict.suspect_copy,
            first_at=to_micros(first_at) if first_at else None, first_region=first_region,
            first_consumer=first_consumer,
        )  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


def _seed(ref: CodeRef) -> None:
    """Load a code's state from PostgreSQL into Redis (Redis lost it, or it expired)."""
    state = db.session.scalar(
        select(CodeState).where(
            CodeState.code_key_id == ref.code_key_id, CodeState.serial == ref.serial
        )
    )
    redis = redis_client()
    if state is None:
        scanstate.seed(
            redis, ref, scan_count=0, first_at=None, first_region=None,
            first_consumer_id=None, sightings=(),
        )  # fmt: skip
        return
    scanstate.seed(
        redis, ref, scan_count=state.scan_count, first_at=state.first_scanned_at,
        first_region=state.first_region,
        first_consumer_id=str(state.first_consumer_id) if state.first_consumer_id else None,
        sightings=_stored_history(state),
    )  # fmt: skip


def _stored_history(state: CodeState) -> list[Sighting]:
    """The code's last counted sightings as recorded in PostgreSQL, newest first."""
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


def _flush_after_commit() -> None:
    """Embedded mode has no flusher process: move the events into the database after commit."""
    from anticounterfeit.jobs import flush_scan_events
    from workers.job import enqueue_after_commit

    enqueue_after_commit(flush_scan_events)
