"""Consents: the append-only ledger, read at the time of processing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.auth import ConsumerIdentity
from core.db import db, utcnow
from profiles import notice
from profiles.errors import NoticeOutdated
from profiles.flags import ConsumerFlags, flags_changing, latest_consents, load_flags
from profiles.models.consent import ConsentRecord, Purpose


def consents_payload(consumer: ConsumerIdentity) -> dict[str, Any]:
    """``GET /api/v1/me/consents``: each purpose's state, the notice it was given under, history."""
    latest = latest_consents(consumer.consumer_id)
    out: dict[str, Any] = {p.value: bool(latest[p].granted) if p in latest else False
                           for p in Purpose}  # fmt: skip
    out["notice_version"] = max((r.notice_version for r in latest.values()), default=None)
    out["current_notice_version"] = notice.CURRENT.version
    out["updated_at"] = max((r.created_at for r in latest.values()), default=None)
    out["history"] = [
        {
            "purpose": r.purpose,
            "granted": r.granted,
            "notice_version": r.notice_version,
            "at": r.created_at,
        }  # fmt: skip
        for r in _history(consumer)
    ]
    return out


def _history(consumer: ConsumerIdentity) -> list[ConsentRecord]:
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.consumer_id == consumer.consumer_id)
            .order_by(ConsentRecord.created_at, ConsentRecord.purpose)
        )
    )


def set_consents(consumer: ConsumerIdentity, changes: dict[str, bool],
                 notice_version: str | None) -> dict[str, Any]:  # fmt: skip
    """Record each purpose whose state changes (a withdrawal of profiling forgets the profile)."""
    if notice_version is not None and notice_version != notice.CURRENT.version:
        raise NoticeOutdated(current=notice.CURRENT.version)
    before = load_flags(consumer.consumer_id, consumer.brand_id)
    now = utcnow()
    after = {p.value: getattr(before, p.value) for p in Purpose}
    for name, granted in changes.items():
        if granted == after[name] and _ever_set(consumer, name):
            continue
        after[name] = granted
        db.session.add(ConsentRecord(
            brand_id=consumer.brand_id, consumer_id=consumer.consumer_id, purpose=name,
            granted=granted, notice_version=notice.CURRENT.version, created_at=now,
        ))  # fmt: skip
    db.session.flush()
    # Memberships need marketing and a profile: withdrawing either leaves every segment (below).
    member = after["marketing"] and after["profiling"]
    flags = ConsumerFlags(**after, segments=before.segments if member else frozenset())
    flags_changing(consumer.consumer_id, flags)
    _apply_withdrawals(consumer, before, flags)
    return consents_payload(consumer)


def _ever_set(consumer: ConsumerIdentity, purpose: str) -> bool:
    return Purpose(purpose) in latest_consents(consumer.consumer_id)


def _apply_withdrawals(consumer: ConsumerIdentity, before: ConsumerFlags,
                       after: ConsumerFlags) -> None:  # fmt: skip
    """Withdrawing stops the processing now and removes what it derived."""
    from profiles.derived import forget
    from profiles.location import coarsen_stored_job
    from profiles.segments.members import leave_all
    from workers.job import enqueue_after_commit

    if before.profiling and not after.profiling:
        forget.forget_profile(consumer.consumer_id)
    if before.marketing and not after.marketing:
        leave_all(consumer.consumer_id)
    if before.precise_location and not after.precise_location:
        enqueue_after_commit(coarsen_stored_job(), str(consumer.consumer_id))
    if after.profiling and not before.profiling:
        from profiles.derived.jobs import refresh_voice_job

        enqueue_after_commit(refresh_voice_job(), str(consumer.consumer_id))
