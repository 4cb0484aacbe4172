"""RQ entry points of the campaigns package (arguments are ids and primitives only)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from campaigns import budget, points
from campaigns.models import Campaign, CampaignStatus
from campaigns.payouts.jobs import pay_award, sweep_payouts  # noqa: F401  (jobs already queued)
from core.broker import redis_client
from core.db import db, utcnow
from workers.job import job

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
def expire_points(*, batches: int = 50) -> int:
    """Expire every credit past its date, consumer by consumer; returns the points removed.

    Up to ``batches`` x 1,000 consumers per run (one transaction); the next run takes the rest.
    """
    now, removed = utcnow(), 0
    for _ in range(batches):
        due = points.consumers_with_due_credits(now)
        if not due:
            break
        for consumer_id in due:
            removed += points.expire_due(consumer_id, now)
    return removed
