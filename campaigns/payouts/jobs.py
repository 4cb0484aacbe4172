"""RQ entry points and sweeps of payouts (arguments are ids and primitives only).

The database is the record; these jobs only re-drive it. Sweeps (``workers/sweeps.py``):
stuck ``pending`` payouts (the outbox: their job was lost), unresolved ``processing`` ones
(lease ran out: query the same number), ``awaiting_user`` ones (query; past 24 h: cancel v3
bills, v2 red packets come back as ``REFUND``), and the reconciliation of every active campaign.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select

from campaigns.models import Payout, PayoutStatus
from campaigns.payouts import engine, reconcile
from core.broker import current_broker, queue
from core.db import db, utcnow
from workers.job import enqueue_after_commit, job

log = logging.getLogger(__name__)
S = PayoutStatus


@job
def pay_award(payout_id: str) -> str | None:
    """Pay one payout, and up to ``PAYOUT_BATCH``-1 others waiting (one job, one batch)."""
    extra = engine.setting("PAYOUT_BATCH", 20) - 1 if not current_broker().embedded else 0
    statuses = engine.drive([payout_id], extra)
    _retry_later(statuses)
    if payout_id in statuses:
        return statuses[payout_id]
    status = db.session.scalar(select(Payout.status).where(Payout.id == uuid.UUID(payout_id)))
    return status.value if status is not None else None


def _retry_later(statuses: dict[str, str]) -> None:
    """Payouts left ``processing`` (outcome unknown): ask again after ``PAYOUT_RETRY_SECONDS``
    (same number; the sweep is the backstop)."""
    retry = [i for i, s in statuses.items() if s == S.processing.value]
    if retry and not current_broker().embedded:
        delay = timedelta(seconds=engine.setting("PAYOUT_RETRY_SECONDS", 10))
        for payout_id in retry:
            queue("payouts").enqueue_in(delay, pay_award, payout_id)


DISPATCH_FLAG = "payouts:dispatch"


def inline() -> bool:
    """Whether jobs run inline (embedded mode: no Redis server, no dispatch flag)."""
    broker = current_broker()
    return broker.embedded or broker.redis is None


def _flag_ttl() -> int:
    return max(engine.setting("PAYOUT_LEASE_SECONDS", 60), 5)


def kick() -> None:
    """After a commit that created payouts: make sure one drain job is queued or running."""
    if inline():
        queue("payouts").enqueue(drain_payouts)  # inline: runs now
        return
    dispatch_claimed(claim_dispatch(current_broker().redis))


def claim_dispatch(redis: Any) -> object:
    """Take the dispatch flag (on a client, or queued on a pipeline): true when no drain was
    queued or running, so this caller sends one (``dispatch_claimed``)."""
    return redis.set(DISPATCH_FLAG, "1", nx=True, ex=_flag_ttl())


def dispatch_claimed(claimed: object) -> None:
    """Send the drain job if ``claim_dispatch`` took the flag."""
    if claimed:
        queue("payouts").enqueue(drain_payouts)


@job
def drain_payouts(max_seconds: int = 30) -> int:
    """Pay pending payouts in batches of ``PAYOUT_BATCH`` until none is left; returns how many.

    Each batch's answers are recorded in the transaction that claims the next batch. The Redis
    flag that ``kick`` sets keeps one drain at a time; it is dropped before the last look, so a
    payout committed meanwhile is either seen here or kicks a new drain.
    """
    broker, done = current_broker(), 0
    started, size = time.monotonic(), max(engine.setting("PAYOUT_BATCH", 20), 1)
    flag = broker.redis if broker.redis is not None and not broker.embedded else None
    lease = max(engine.setting("PAYOUT_LEASE_SECONDS", 60), 5)
    work = engine.claim([], size)
    while True:
        if not work:
            if flag is not None:
                flag.delete(DISPATCH_FLAG)
            work = engine.claim([], size)  # the last look, after dropping the flag
            if not work:
                return done
        if flag is not None:
            flag.set(DISPATCH_FLAG, "1", ex=lease)
        more = time.monotonic() - started < max_seconds
        statuses, work = engine.pay_and_claim(work, size if more else 0)
        _retry_later(statuses)
        done += len(statuses)
        if not more:
            break
    if flag is not None:  # time is up: hand over to a new job
        flag.delete(DISPATCH_FLAG)
        kick()
    return done


@job
def check_payouts(payout_ids: list[str], expire: bool = False) -> dict[str, str]:
    """Query payouts waiting for the shopper; ``expire``: cancel (v3) those past their window."""
    return engine.check(payout_ids, expire=expire)


def _ids(stmt: object, limit: int) -> list[str]:
    return [str(i) for i in db.session.scalars(stmt.limit(limit))]  # type: ignore[attr-defined]


@job
def sweep_payouts(limit: int = 500) -> int:
    """Re-drive stuck pending and unresolved processing payouts; returns how many.

    Payouts not yet cleared by their scan's fraud check are the fraud sweep's (``cleared``).
    """
    now = utcnow()
    stuck = now - timedelta(seconds=engine.setting("PAYOUT_STUCK_SECONDS", 120))
    lease = now - timedelta(seconds=engine.setting("PAYOUT_LEASE_SECONDS", 60))
    pending = _ids(select(Payout.id).where(Payout.status == S.pending, Payout.cleared.is_(True),
                                           Payout.updated_at < stuck)
                   .order_by(Payout.updated_at), limit)  # fmt: skip
    unresolved = _ids(select(Payout.id).where(
        Payout.status == S.processing,
        or_(Payout.processing_at.is_(None), Payout.processing_at < lease),
        Payout.updated_at < now - timedelta(seconds=engine.setting("PAYOUT_RETRY_SECONDS", 10)),
    ).order_by(Payout.updated_at), limit)  # fmt: skip
    for payout_id in pending + unresolved:
        enqueue_after_commit(pay_award, payout_id, queue_name="payouts")
    if pending or unresolved:
        log.info("payout sweep: %s pending, %s unresolved", len(pending), len(unresolved))
    return len(pending) + len(unresolved)


@job
def sweep_waiting(limit: int = 500) -> dict[str, int]:
    """Enqueue checks of waiting payouts (every few minutes) and expiries (past their window)."""
    now = utcnow()
    every = timedelta(seconds=engine.setting("PAYOUT_CHECK_SECONDS", 300))
    expired = _ids(select(Payout.id).where(Payout.status == S.awaiting_user,
                                           Payout.expires_at < now), limit)  # fmt: skip
    waiting = _ids(select(Payout.id).where(
        Payout.status == S.awaiting_user, Payout.provider_checked_at < now - every,  # type: ignore[operator]
    ).order_by(Payout.provider_checked_at), limit)  # fmt: skip
    waiting = [i for i in waiting if i not in set(expired)]
    for chunk in _chunks(expired, 20):
        enqueue_after_commit(check_payouts, chunk, True, queue_name="payouts")
    for chunk in _chunks(waiting, 20):
        enqueue_after_commit(check_payouts, chunk, False, queue_name="payouts")
    return {"expired": len(expired), "waiting": len(waiting)}


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@job
def reconcile_payouts() -> int:
    """Reconcile every active campaign; logs and returns how many mismatches were found."""
    found = 0
    for line in reconcile.active_campaigns():
        for mismatch in line["mismatches"]:
            log.warning("payout mismatch in campaign %s: %s", line["campaign_id"], mismatch)
            found += 1
    if found:
        current_app.logger.warning("%s payout mismatches", found)
    return found
