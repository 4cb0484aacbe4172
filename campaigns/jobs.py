"""RQ entry points of the campaigns package (arguments are ids and primitives only)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from campaigns import budget, points
from campaigns.models import Campaign, CampaignStatus
from campaigns.payouts.jobs import pay_award, sweep_payouts  # noqa: F401  (jobs already queued)
from core.broker import redis_client
from core.db import db, utcnow
from workers.job import enqueue_after_commit, job

log = logging.getLogger(__name__)


@job
def reconcile_budgets() -> dict[str, int]:
    """Set each active campaign's Redis counters to the database's record; returns the drifts.

    PostgreSQL is the truth. A counter above it (lost Redis writes) would only let draws reach
    the database's guard; one below it (a reservation whose process died before releasing it)
    would refuse prizes that are still there. Both are corrected here.
    """
    redis, drifts = redis_client(), {}
    campaigns = db.session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.active))
    for campaign in campaigns:
        seen = budget.counters(redis, campaign)
        budget.seed(redis, campaign, overwrite=True)
        truth = budget.counters(redis, campaign)
        drift = sum(abs((seen[k] or 0) - (truth[k] or 0)) for k in truth)
        if drift:
            log.warning("campaign %s: Redis counters drifted by %s; reset", campaign.id, drift)
            drifts[str(campaign.id)] = drift
    return drifts


@job
def expire_points(*, after: str | None = None, batch: int = points.EXPIRY_BATCH) -> int:
    """Expire the credits past their date of up to ``batch`` consumers (in id order, after
    ``after``); returns the points removed. One job, one transaction: at most ``batch`` accounts
    are locked at a time. If there may be more, the next batch is sent after the commit."""
    now, removed = utcnow(), 0
    due = points.consumers_with_due_credits(now, after=uuid.UUID(after) if after else None,
                                            limit=batch)  # fmt: skip
    for consumer_id in due:
        removed += points.expire_due(consumer_id, now)
    if len(due) == batch:
        enqueue_after_commit(expire_points, after=str(due[-1]), batch=batch)
    return removed
