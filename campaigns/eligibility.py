"""Who may draw at a scan, decided on committed facts.

A code's rewards are drawn for its first logged-in consumer (the scan's Redis call says whether
the scan's consumer is that one, ``by_first_consumer``), once per campaign. The Redis call marks
the consumer at once, before anything is drawn, so "first" alone cannot be the rule: a request
that fails after it (a Redis blip, a deadlock, a failed commit) would leave the shopper with a
marked code and no draw. What decides is what committed:

- the code's draws are *settled* once a request of its first consumer that drew while the brand
  had running campaigns has committed: a bit per code in ``cmp:settled:{batch_id}``, queued only
  after that commit (``Database.after_commit``) and written behind (``core.behind``: the request
  does not wait for it; it lands within a few tens of milliseconds). A later scan by the same
  consumer with the bit set draws nothing (one Redis read, for repeat scans by the first
  consumer only; a process reads its own queued bits);
- without the bit (the request failed, Redis lost it, or it has not landed yet when another
  process reads it), the campaigns that already have a committed draw for the code are skipped
  (one query) and the others draw; PostgreSQL's unique (campaign, code) key on draws and awards
  stays the last word. The awards found are shown again (the same ones): what a retry after a
  failure that followed the claim must see.

"New consumers only" is decided by inserting the consumer's ``campaign_first_draws`` row (one per
consumer): concurrent first scans of one consumer serialise on that key and only one is first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from redis import Redis
from sqlalchemy import exists, select

from campaigns.models import Award, Draw, FirstDraw
from core import behind
from core.broker import redis_client
from core.db import db

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class ScanFacts:
    """What a draw needs to know about the scan (given by the engagement layer)."""

    brand_id: uuid.UUID
    scan_id: uuid.UUID
    consumer_id: uuid.UUID
    code_key_id: uuid.UUID
    serial: int
    product_id: uuid.UUID
    code_batch_id: uuid.UUID
    province: str | None
    city: str | None
    at: datetime
    scene: int | None = None  # the mini-program's launch scene (camera scans: red packets)
    #: Consumer scans draw from consumer campaigns; channel scans from clerk/store/dealer ones.
    audience: str = "consumer"
    #: The code's offset in its batch (its bit in the batch's ``settled`` bitmap). None: the
    #: scan is not a shopper's (channel scans draw once per campaign and code, by the unique key).
    batch_offset: int | None = None
    #: True when this very scan made the consumer the code's first logged-in one (nothing can
    #: have been drawn for the code yet); False for their later scans of it.
    first: bool = True
    #: Whether red packets won at this scan may be paid at once (else they wait for the scan's
    #: fraud check, ``campaigns.payouts.waits_for_fraud_check``).
    payouts_cleared: bool = True
    #: The provider that pays the red packets won at this scan (``campaigns.payouts.config``).
    payout_provider: str = "sandbox"

    @property
    def code(self) -> str:
        """The code's identity in Redis keys."""
        return f"{self.code_key_id}:{self.serial}"

    @property
    def china_day(self) -> date:
        """The calendar day in China by this node's clock (display only: limits use Redis's)."""
        return self.at.astimezone(CHINA).date()


def settled_key(batch_id: uuid.UUID) -> str:
    """The Redis bitmap of a batch's codes whose draws have committed."""
    return f"cmp:settled:{batch_id}"


def settled(redis: Redis, facts: ScanFacts) -> bool:
    """Whether the code's draws committed already (a later scan of its first consumer)."""
    key, offset = settled_key(facts.code_batch_id), facts.batch_offset
    assert offset is not None
    return bool(behind.read(redis, lambda pipe: pipe.getbit(key, offset)))


def settle_after_commit(facts: ScanFacts) -> None:
    """Mark the code's draws settled once (and only if) the current unit of work commits:
    written behind (``core.behind``), and with no session begun for it when the draws were
    committed on their own (``Database.after_commit``)."""
    key, offset = settled_key(facts.code_batch_id), facts.batch_offset
    assert offset is not None
    redis = redis_client()
    db.after_commit(lambda: behind.later(redis, lambda pipe: pipe.setbit(key, offset, 1)))


def drawn_campaigns(facts: ScanFacts, campaign_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The campaigns among ``campaign_ids`` with a committed draw for the scan's code."""
    rows = db.session.scalars(
        select(Draw.campaign_id).where(
            Draw.code_key_id == facts.code_key_id,
            Draw.serial == facts.serial,
            Draw.campaign_id.in_(list(campaign_ids)),
        )
    )
    return set(rows)


def unannounced(facts: ScanFacts, campaign_ids: Iterable[uuid.UUID]) -> list[Award]:
    """The awards the scan's consumer won at its code in these campaigns: when the code is not
    settled yet, what a request that failed after its claim committed never showed (its retry
    shows them once, then the code is settled)."""
    return list(db.session.scalars(
        select(Award).where(
            Award.code_key_id == facts.code_key_id, Award.serial == facts.serial,
            Award.consumer_id == facts.consumer_id, Award.campaign_id.in_(list(campaign_ids)),
        ).order_by(Award.campaign_id)
    ))  # fmt: skip


def is_newcomer(facts: ScanFacts) -> bool:
    """True when this scan's code is the consumer's first drawing code at the brand.

    Inserts the consumer's first-draw row (waiting for a concurrent first scan's commit, if
    any); consumers who drew before the row existed (older data) are never newcomers.
    """
    inserted = db.session.execute(
        db.insert(FirstDraw)
        .values(consumer_id=facts.consumer_id, brand_id=facts.brand_id,
                code_key_id=facts.code_key_id, serial=facts.serial, created_at=facts.at)
        .on_conflict_do_nothing(index_elements=["consumer_id"])
        .returning(FirstDraw.consumer_id)
    ).first()  # fmt: skip
    if inserted is not None:
        return not db.session.scalar(
            select(exists().where(Draw.brand_id == facts.brand_id,
                                  Draw.consumer_id == facts.consumer_id))
        )  # fmt: skip
    first = db.session.execute(
        select(FirstDraw.code_key_id, FirstDraw.serial).where(
            FirstDraw.consumer_id == facts.consumer_id
        )
    ).first()
    return first is not None and tuple(first) == (facts.code_key_id, facts.serial)

