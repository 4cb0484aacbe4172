"""``DELETE /api/v1/me``: the consumer erases themselves.

In the request: the consumer becomes an anonymous tombstone (``erased_at``), their WeChat
identities are deleted (a later login with the same account starts a new consumer) and the
flags cache says "erased", so every token of theirs stops working at once (401
``token_revoked``). Then the ``erase`` job, re-driven by a sweep until it finishes:

1. money first (``campaigns.erasure``, registered as an erasure step): each open red packet
   is completed (one payment attempt) or, if it cannot be (it waits for the shopper, or is
   held), cancelled with its money returned to the budget; a payment in flight makes the job
   wait and try again;
2. profile, segment memberships, preferences and feedback text deleted (ratings stay,
   anonymous);
3. scans keep their facts (product, time, city, verdict) but lose device id, IP and coordinates;
   awards and points ledgers stay whole, pointing at the tombstone, which has no identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select, update

from accounts.auth import ConsumerIdentity
from anticounterfeit.models import ScanEvent
from core.db import db, utcnow
from profiles.derived.forget import forget_profile, lock_consumer
from profiles.flags import ConsumerFlags, flags_changing
from profiles.models.identity import Consumer, WechatIdentity
from profiles.models.voice import Feedback, Preference
from workers.job import enqueue_after_commit, job

ErasureStep = Callable[[uuid.UUID], None]
_steps: list[ErasureStep] = []


def register_erasure_step(step: ErasureStep) -> None:
    """Add work the ``erase`` job does first, before the profile goes (the owning package's, at
    start-up: ``campaigns`` settles the consumer's open red packets). A step that cannot finish
    yet raises, and the job is tried again."""
    if step not in _steps:
        _steps.append(step)


def request_erasure(consumer: ConsumerIdentity) -> Consumer:
    """Erase identity now; the rest follows in a job (202)."""
    lock_consumer(consumer.consumer_id)
    row = db.session.get(Consumer, consumer.consumer_id)
    assert row is not None
    if row.erased_at is None:
        row.erased_at = utcnow()
    db.session.execute(
        delete(WechatIdentity).where(WechatIdentity.consumer_id == consumer.consumer_id)
    )
    flags_changing(consumer.consumer_id, ConsumerFlags(erased=True))
    enqueue_after_commit(erase, str(consumer.consumer_id))
    return row


def erase_data(consumer_id: uuid.UUID) -> bool:
    """The job's work; False when the consumer is not (or no longer) to be erased."""
    row = db.session.get(Consumer, consumer_id)
    if row is None or row.erased_at is None or row.erasure_done_at is not None:
        return False
    if not _steps:
        raise RuntimeError("no erasure step registered (create_app registers them)")
    for step in _steps:
        step(consumer_id)
    forget_profile(consumer_id)
    db.session.execute(delete(Preference).where(Preference.consumer_id == consumer_id))
    db.session.execute(
        update(Feedback).where(Feedback.consumer_id == consumer_id).values(comment=None)
    )
    db.session.execute(
        update(ScanEvent)
        .where(ScanEvent.consumer_id == consumer_id)
        .values(device_id=None, ip=None, lat=None, lng=None, accuracy_m=None)
    )
    row.erasure_done_at = utcnow()
    return True


@job
def erase(consumer_id: str) -> bool:
    """Job: finish an erasure (idempotent; re-driven by ``sweep_erasures``)."""
    return erase_data(uuid.UUID(consumer_id))


@job
def sweep_erasures() -> int:
    """Sweep: re-send the erasures that have not finished (a lost job, a payment in flight)."""
    stale = utcnow() - timedelta(minutes=2)
    ids = db.session.scalars(
        select(Consumer.id)
        .where(
            Consumer.erased_at.is_not(None),
            Consumer.erasure_done_at.is_(None),
            Consumer.erased_at < stale,
        )  # fmt: skip
        .limit(500)
    ).all()
    for cid in ids:
        enqueue_after_commit(erase, str(cid))
    return len(ids)
