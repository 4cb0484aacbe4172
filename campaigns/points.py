"""The points ledger: credits, spends, expiry and reversals, each a row with reason and reference.

A consumer's ``PointsAccount.balance`` always equals the sum of their entries and the sum of
their credits' ``remaining``; it is changed only together with an entry, in one transaction.
Spending and expiry take the account's row lock first, so concurrent spends of one consumer
serialise and the CHECK ``balance >= 0`` can never be the thing that fires in normal operation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campaigns.errors import InsufficientPoints
from campaigns.models import EntryKind, PointsAccount, PointsEntry
from core.db import db, utcnow
from core.queries import page as paginate

#: Consumers whose credits one expiry job expires (their account rows locked until it commits).
EXPIRY_BATCH = 500


@dataclass(frozen=True)
class Reference:
    """What a ledger movement is about (any of them may be None)."""

    campaign_id: uuid.UUID | None = None
    award_id: uuid.UUID | None = None
    redemption_id: uuid.UUID | None = None
    scan_id: uuid.UUID | None = None


def balance(consumer_id: uuid.UUID) -> int:
    """The consumer's current points balance (0 without an account)."""
    value = db.session.scalar(
        select(PointsAccount.balance).where(PointsAccount.consumer_id == consumer_id)
    )
    return int(value or 0)


def _add_to_account(brand_id: uuid.UUID, consumer_id: uuid.UUID, delta: int) -> None:
    stmt = db.insert(PointsAccount).values(
        consumer_id=consumer_id, brand_id=brand_id, balance=delta, updated_at=utcnow()
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["consumer_id"],
            set_={"balance": PointsAccount.balance + delta, "updated_at": utcnow()},
        )
    )


def credit(
    brand_id: uuid.UUID,
    consumer_id: uuid.UUID,
    points: int,
    *,
    reason: str,
    expires_at: datetime | None,
    ref: Reference,
) -> PointsEntry:
    """Add ``points`` to the consumer's balance; they expire at ``expires_at`` (None: never)."""
    assert points > 0
    _add_to_account(brand_id, consumer_id, points)
    entry = _entry(brand_id, consumer_id, EntryKind.credit, points, reason, ref)
    entry.remaining, entry.expires_at = points, expires_at
    db.session.add(entry)
    db.session.flush()
    return entry


def _entry(
    brand_id: uuid.UUID,
    consumer_id: uuid.UUID,
    kind: EntryKind,
    delta: int,
    reason: str,
    ref: Reference,
    credit_id: uuid.UUID | None = None,
) -> PointsEntry:
    return PointsEntry(
        brand_id=brand_id, consumer_id=consumer_id, kind=kind, delta=delta, reason=reason,
        campaign_id=ref.campaign_id, award_id=ref.award_id, redemption_id=ref.redemption_id,
        scan_id=ref.scan_id, credit_id=credit_id, created_at=utcnow(),
    )  # fmt: skip


def _lock_account(consumer_id: uuid.UUID) -> PointsAccount | None:
    return db.session.scalar(
        select(PointsAccount)
        .where(PointsAccount.consumer_id == consumer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _open_credits(consumer_id: uuid.UUID) -> list[PointsEntry]:
    """Unspent credits, the first to expire first (never-expiring ones last)."""
    rows = db.session.scalars(
        select(PointsEntry)
        .where(
            PointsEntry.consumer_id == consumer_id,
            PointsEntry.kind == EntryKind.credit,
            PointsEntry.remaining > 0,
        )
        .order_by(PointsEntry.expires_at.is_(None), PointsEntry.expires_at, PointsEntry.created_at)
        .with_for_update()
    )
    return list(rows)


def _expire(account: PointsAccount, credits: list[PointsEntry], now: datetime) -> int:
    """Close the credits that have expired; returns the points removed."""
    expired = 0
    for entry in credits:
        if entry.expires_at is not None and entry.expires_at <= now and entry.remaining:
            ref = Reference(campaign_id=entry.campaign_id, award_id=entry.award_id)
            db.session.add(
                _entry(account.brand_id, account.consumer_id, EntryKind.expiry, -entry.remaining,
                       "points_expired", ref, credit_id=entry.id)
            )  # fmt: skip
            expired += entry.remaining
            entry.remaining = 0
    account.balance -= expired
    return expired


def spend(consumer_id: uuid.UUID, points: int, *, reason: str, ref: Reference) -> int:
    """Take ``points`` from the balance, oldest credits first; returns the new balance."""
    assert points > 0
    account = _lock_account(consumer_id)
    if account is None:
        raise InsufficientPoints(balance=0, requested=points)
    credits = _open_credits(consumer_id)
    _expire(account, credits, utcnow())
    if account.balance < points:
        raise InsufficientPoints(balance=account.balance, requested=points)
    left = points
    for entry in credits:
        take = min(entry.remaining or 0, left)
        entry.remaining = (entry.remaining or 0) - take
        left -= take
        if left == 0:
            break
    account.balance -= points
    db.session.add(
        _entry(account.brand_id, consumer_id, EntryKind.redemption, -points, reason, ref)
    )
    db.session.flush()
    return account.balance


def expire_due(consumer_id: uuid.UUID, now: datetime | None = None) -> int:
    """Expire the consumer's credits that are past their date; returns the points removed."""
    account = _lock_account(consumer_id)
    if account is None:
        return 0
    expired = _expire(account, _open_credits(consumer_id), now or utcnow())
    db.session.flush()
    return expired


def consumers_with_due_credits(
    now: datetime, *, after: uuid.UUID | None = None, limit: int = EXPIRY_BATCH
) -> list[uuid.UUID]:
    """Consumers holding credits past their expiry, in id order after ``after`` (the sweep's
    pages: each consumer is visited once per sweep, whatever happens to its credits)."""
    query = select(PointsEntry.consumer_id).where(
        PointsEntry.kind == EntryKind.credit,
        PointsEntry.remaining > 0,
        PointsEntry.expires_at <= now,
    )
    if after is not None:
        query = query.where(PointsEntry.consumer_id > after)
    rows = db.session.scalars(query.distinct().order_by(PointsEntry.consumer_id).limit(limit))
    return list(rows)


def reverse_credit(award_id: uuid.UUID, *, reason: str) -> int:
    """Take back what is left of the credit an award made; returns the points reversed."""
    entry = db.session.scalar(
        select(PointsEntry).where(
            PointsEntry.award_id == award_id, PointsEntry.kind == EntryKind.credit
        )
    )
    if entry is None:
        return 0
    account = _lock_account(entry.consumer_id)
    assert account is not None
    db.session.refresh(entry, with_for_update=True)
    taken = entry.remaining or 0
    if taken:
        ref = Reference(campaign_id=entry.campaign_id, award_id=award_id)
        db.session.add(
            _entry(account.brand_id, account.consumer_id, EntryKind.reversal, -taken, reason,
                   ref, credit_id=entry.id)
        )  # fmt: skip
        entry.remaining = 0
        account.balance -= taken
    db.session.flush()
    return taken


def ledger(consumer_id: uuid.UUID, page: int, page_size: int) -> tuple[list[PointsEntry], int]:
    """The consumer's ledger, newest first."""
    query = select(PointsEntry).where(PointsEntry.consumer_id == consumer_id)
    return paginate(
        query.order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()), page, page_size
    )
