"""Drawing a scan's rewards (step 4 of the scan, DESIGN.md).

For each running campaign of the brand that targets the scan, in campaign id order (the lock
order, ``campaigns.claim``): draw with a secure random value, reserve the win in Redis
(``campaigns.budget``), then claim it in PostgreSQL (``campaigns.claim``: guarded updates, then
the draw, award and payout rows). A refusal by PostgreSQL releases the Redis reservation at once;
the request's transaction rolling back releases it too. Every draw, won or lost, is recorded with
the version, tier and random value behind it. Who may draw is decided on committed facts
(``campaigns.eligibility``), so a request that fails anywhere is drawn again by its retry.
After-commit work is registered only for what survived: the payouts of the claimed awards are
dispatched once, after all claims (``campaigns.dispatch``). A scan that draws from one red-packet
campaign and has written nothing else claims ``alone`` (``campaigns.claim``): its draw is a
transaction of its own, in one round trip; its after-commit work still follows the request's
commit (which then writes nothing), so a request that fails after the claim announces nothing
and its retry finds the committed draw (``campaigns.eligibility``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from campaigns import budget, draws, points
from campaigns.cache import CampaignInfo, campaign_cache
from campaigns.claim import Stale, Won, claim, record
from campaigns.dispatch import dispatch_payouts
from campaigns.eligibility import (
    ScanFacts,
    drawn_campaigns,
    is_newcomer,
    settle_after_commit,
    settled,
    unannounced,
)
from campaigns.models import Award, CampaignKind, DrawOutcome
from campaigns.payouts.schemas import public as public_payout
from core import txhooks
from core.broker import redis_client
from core.db import db
from profiles.segments.members import memberships

DEFAULT_POINTS_VALID_DAYS = 365

__all__ = ["ScanFacts", "Won", "active_campaigns", "draw_for_scan", "reward_payload"]


def active_campaigns(brand_id: uuid.UUID, at: datetime) -> list[CampaignInfo]:
    """The brand's campaigns running at ``at``, in a fixed order (consistent lock order)."""
    return [c for c in campaign_cache().active(redis_client(), brand_id) if c.runs_at(at)]


def _segments_of(facts: ScanFacts, campaigns: list[CampaignInfo]) -> frozenset[uuid.UUID]:
    """Which of the campaigns' segments the consumer is in (one indexed lookup; none asked,
    no query)."""
    wanted = frozenset().union(*(c.segment_ids for c in campaigns))
    if not wanted:
        return frozenset()
    return memberships(facts.consumer_id, wanted)


def targets(
    campaign: CampaignInfo, facts: ScanFacts, is_new: bool | None,
    segments: frozenset[uuid.UUID] = frozenset(),
) -> bool:  # fmt: skip
    """Whether the campaign's targeting covers this scan (``is_new`` None: not asked;
    ``segments``: those of the campaign's segments the consumer is a member of)."""
    if not campaign.tiers:
        return False
    if campaign.segment_ids and not campaign.segment_ids & segments:
        return False
    if campaign.product_ids and str(facts.product_id) not in campaign.product_ids:
        return False
    if campaign.code_batch_ids and str(facts.code_batch_id) not in campaign.code_batch_ids:
        return False
    if campaign.regions and not {facts.province, facts.city} & set(campaign.regions):
        return False
    return not campaign.new_consumers_only or is_new is None or is_new


def _eligible(facts: ScanFacts) -> tuple[list[CampaignInfo], list[Award]]:
    """The running campaigns that target the scan and have no committed draw for its code, and
    the awards of those that do which no response showed yet (``unannounced``)."""
    running = [c for c in active_campaigns(facts.brand_id, facts.at)
               if c.audience == facts.audience]  # fmt: skip
    if not running:
        return [], []
    segments = _segments_of(facts, running)
    campaigns = [c for c in running if targets(c, facts, None, segments)]
    if not campaigns:
        return [], []
    earlier: list[Award] = []
    if not facts.first and facts.batch_offset is not None:
        if settled(redis_client(), facts):
            return [], []
        done = drawn_campaigns(facts, [c.id for c in campaigns])
        campaigns = [c for c in campaigns if c.id not in done]
        earlier = unannounced(facts, done) if done else []
    if any(c.new_consumers_only for c in campaigns):
        is_new = is_newcomer(facts)  # lock 1 of the lock order: before any campaign
        campaigns = [c for c in campaigns if targets(c, facts, is_new, segments)]
    return campaigns, earlier


class _InFlight(Exception):
    """Another request holds the code's claim in Redis: this one must not settle the code."""


def draw_for_scan(facts: ScanFacts) -> list[Won | Award]:
    """Draw from every running campaign that targets the scan; returns the awards won, after
    those of earlier draws at this code that no response showed (a retry after a failure that
    followed a committed claim: the retry shows the win, then the code is settled)."""
    campaigns, earlier = _eligible(facts)
    if not campaigns:
        if earlier:
            settle_after_commit(facts)
        return list(earlier)
    terms = campaigns[0]  # the brand's payout terms, as the cached snapshots carry them
    facts = replace(facts, payouts_cleared=terms.payouts_cleared,
                    payout_provider=terms.payout_provider)  # fmt: skip
    won: list[tuple[CampaignInfo, Won]] = []
    in_flight = False
    # One red-packet campaign: the draw may be the scan's only write (points credit a ledger
    # after the claim, in the same transaction).
    alone = len(campaigns) == 1 and campaigns[0].kind is CampaignKind.red_packet
    for campaign in campaigns:
        try:
            result = _draw(campaign, facts, alone=alone)
        except _InFlight:
            in_flight = True
            continue
        if result is not None:
            won.append((campaign, result))
    for campaign, w in won:
        if w.kind is CampaignKind.points:
            _credit_points(campaign, w, facts)  # lock 6: the points account, after every campaign
    if facts.payouts_cleared:  # else the scan's fraud check sends them (fraud.holds.clear)
        dispatch_payouts([w.award_id for _, w in won if w.kind is CampaignKind.red_packet])
    if not in_flight and facts.batch_offset is not None:
        settle_after_commit(facts)
    return [*earlier, *(w for _, w in won)]


def _draw(campaign: CampaignInfo, facts: ScanFacts, *, fresh: bool = False,
          alone: bool = False) -> Won | None:  # fmt: skip
    pick = draws.choose(campaign.tiers)
    alone = alone and db.untouched()
    if pick.tier_index is None or pick.amount is None:
        record(campaign, facts, pick, DrawOutcome.no_prize, alone=alone)
        return None
    tier = campaign.tiers[pick.tier_index]
    redis = redis_client()
    try:
        held = budget.reserve(
            redis, campaign, tier, amount=pick.amount, consumer_id=facts.consumer_id,
            code=facts.code,
        )  # fmt: skip
    except budget.CodeAlreadyClaimed as claimed:
        raise _InFlight() from claimed
    except budget.NotRunning:
        return None  # PostgreSQL says the campaign is over or paused: no draw
    alone = alone and db.untouched()  # seeding the counters may have read the campaign
    if isinstance(held, budget.Refusal):
        record(campaign, facts, pick, held.outcome, tier, alone=alone)
        return None
    if not alone:  # in the request's transaction: its rollback gives the reservation back
        txhooks.on_rollback(db.session(), lambda: held.release(redis))
    try:
        result = claim(campaign, tier, facts, pick, held.day, alone=alone)
    except Stale:
        held.release(redis)
        return None if fresh else _redraw(campaign, facts, alone)
    except BaseException:
        if alone:  # nothing else gives it back; if the claim did commit, PostgreSQL still decides
            held.release(redis)
        raise
    if not isinstance(result, Won):
        held.release(redis)
        return None
    return result


def _redraw(campaign: CampaignInfo, facts: ScanFacts, alone: bool) -> Won | None:
    """The cached campaign was out of date: draw once more from the current one, if it runs."""
    cache = campaign_cache()
    cache.forget(facts.brand_id)
    for current in cache.active(redis_client(), facts.brand_id):
        segments = _segments_of(facts, [current])
        runs = current.runs_at(facts.at) and targets(current, facts, None, segments)
        if current.id == campaign.id and runs:
            return _draw(current, facts, fresh=True, alone=alone)
    return None


def _credit_points(campaign: CampaignInfo, won: Won, facts: ScanFacts) -> None:
    days = campaign.points_valid_days or DEFAULT_POINTS_VALID_DAYS
    points.credit(
        facts.brand_id, facts.consumer_id, won.amount, reason="campaign_award",
        expires_at=facts.at + timedelta(days=days),
        ref=points.Reference(campaign_id=won.campaign_id, award_id=won.award_id,
                             scan_id=facts.scan_id),
    )  # fmt: skip


def won_payload(won: Won) -> dict[str, Any]:
    """A new award as the scan response shows it (API.md): nothing paid yet."""
    body: dict[str, Any] = {
        "award_id": str(won.award_id), "campaign_id": str(won.campaign_id),
        "kind": won.kind.value,
    }  # fmt: skip
    if won.kind is CampaignKind.red_packet:
        body.update(amount_fen=won.amount, status=won.status.value, client_action=None,
                    payout=won.payout)  # fmt: skip
    else:
        body.update(points=won.amount, status=won.status.value)
    return body


def reward_payload(award: Award | Won) -> dict[str, Any]:
    """An award as ``/me/awards`` shows it (API.md)."""
    if isinstance(award, Won):
        return won_payload(award)
    body: dict[str, Any] = {
        "award_id": str(award.id),
        "campaign_id": str(award.campaign_id),
        "kind": award.kind.value,
    }
    if award.kind is CampaignKind.red_packet:
        body["amount_fen"] = award.amount
        body["status"] = award.status.value
        payout = award.payout
        body["client_action"] = payout.client_action if payout is not None else None
        body["payout"] = public_payout(payout) if payout is not None else None
    else:
        body["points"] = award.amount
        body["status"] = award.status.value
    return body
