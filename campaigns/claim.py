"""Claiming a win in PostgreSQL: guarded updates in the one lock order, then the award's rows.

**The lock order.** Every transaction that touches these rows takes their locks in this order,
so no two of them can wait on each other in a cycle (PostgreSQL would kill one: a 500, or for a
scan a lost prize):

    1. the consumer's first-draw row (``campaign_first_draws``; only "new consumers only" draws)
    2. campaign rows (several: in campaign id order)
    3. the campaign's prize tier
    4. the consumer's win counters in that campaign (``campaign_consumer_wins``)
    5. the draw's (campaign, code) key, the award, the payout
    6. the consumer's points account (credits come after every campaign of the scan)

- a winning draw (``claim``): campaign, tier, counters, draw, award, payout;
- a draw that wins nothing inserts only its own draw row (a new key: the only transaction that
  can wait on it is another scan of the same code, which takes it in this same place);
- cancelling an award (``campaigns.awards.cancel``): campaign, tier, award, payout;
- editing a campaign or moving it through its lifecycle (``campaigns.service``): campaign,
  then its tiers;
- paying (``campaigns.payouts.pay``): award, then payout.

A scan whose only write is one red-packet claim (``alone``) runs it as a transaction of its own
(``core.db.Database.alone_row``: one round trip, the locks held only while PostgreSQL runs and
commits it), and a process sends one such claim per campaign at a time (``_gate``): threads of
one process would otherwise queue on the same campaign and tier rows inside PostgreSQL, where
each waiter costs CPU (measured: PostgreSQL's CPU per claim tripled from one to sixteen
concurrent claims of one campaign). The gate cannot deadlock: a thread takes it holding no
database lock (``alone``: its unit of work has not touched the database) and, holding it, waits
only on locks of other processes' claims or of transactions that never take it. Such a claim is
first tried short (``claim_sql.WIN``: guarded updates straight on the campaign and tier rows,
then the counters, draw, award and payout, in the same lock order): when a guard refuses, it
keeps nothing and the full claim runs, deciding and recording why. The short one touches each
hot row once instead of locking it, then updating it: when claims of two processes collide on
the campaign row, PostgreSQL re-checks the waiter's rows half as often (measured with two
clients claiming in one campaign: 0.68 -> 0.50 ms of PostgreSQL CPU per claim).

Every guard is checked by PostgreSQL, under those locks: the campaign is ``active``, still the
version the draw was made under, inside its window by PostgreSQL's clock (a process with a stale
campaign cache cannot award after a pause, an edit or the end), its budget covers the amount;
the tier is current and not exhausted; the consumer's total and per-day counts are below the
limits, the day being the China day by Redis's clock that the reservation used (one clock for
every node). A refusal leaves nothing but the draw row that records it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg.errors import NoDataFound, SerializationFailure
from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from campaigns import claim_sql, draws, payouts
from campaigns.cache import CampaignInfo, TierInfo
from campaigns.eligibility import ScanFacts
from campaigns.models import (
    Award,
    AwardStatus,
    Campaign,
    CampaignKind,
    CampaignStatus,
    ConsumerWins,
    Draw,
    DrawOutcome,
    Payout,
    PrizeTier,
)
from core.db import db, new_id, utcnow


class Stale(Exception):
    """PostgreSQL's campaign or tier is not the one the draw was made from (a stale cache)."""


class _Refused(Exception):
    def __init__(self, outcome: DrawOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


@dataclass(frozen=True)
class Won:
    """A claimed win: what the scan response shows and what happens after commit."""

    award_id: uuid.UUID
    campaign_id: uuid.UUID
    kind: CampaignKind
    amount: int
    status: AwardStatus
    payout: dict[str, Any] | None = None  # the fresh payout as API.md shows it (red packets)


def draw_row(campaign: CampaignInfo, facts: ScanFacts, pick: draws.Pick, outcome: DrawOutcome,
             tier: TierInfo | None, draw_id: uuid.UUID | None = None,
             ) -> dict[str, Any]:  # fmt: skip
    """The values of a draw row."""
    return dict(
        id=draw_id or new_id(), brand_id=facts.brand_id, campaign_id=campaign.id,
        campaign_version=campaign.version, scan_id=facts.scan_id,
        code_key_id=facts.code_key_id, serial=facts.serial, consumer_id=facts.consumer_id,
        random_ppm=pick.random_ppm, tier_id=tier.id if tier else None, amount=pick.amount,
        outcome=outcome, created_at=facts.at,
    )  # fmt: skip


#: Striped per-process gates: one ``alone`` claim per campaign at a time in this process.
_GATES = tuple(threading.Lock() for _ in range(64))


def _gate(campaign_id: uuid.UUID) -> threading.Lock:
    return _GATES[campaign_id.int % len(_GATES)]


def record(campaign: CampaignInfo, facts: ScanFacts, pick: draws.Pick, outcome: DrawOutcome,
           tier: TierInfo | None = None, *, alone: bool = False) -> None:  # fmt: skip
    """Record a draw that won nothing; a code already drawn for the campaign keeps its draw.
    ``alone``: as a transaction of its own (the scan's only write, ``Database.untouched``)."""
    row = draw_row(campaign, facts, pick, outcome, tier)
    if alone or db.session.get_bind().dialect.name == "postgresql":
        values = {k: getattr(v, "value", v) for k, v in row.items()}
        (db.alone_row if alone else db.first_row)(claim_sql.RECORD, values)
        return
    db.session.execute(
        db.insert(Draw).values(**row)
        .on_conflict_do_nothing(index_elements=["campaign_id", "code_key_id", "serial"])
    )  # fmt: skip


def claim(campaign: CampaignInfo, tier: TierInfo, facts: ScanFacts, pick: draws.Pick,
          day: date, *, alone: bool = False) -> Won | DrawOutcome | None:  # fmt: skip
    """Take the win in PostgreSQL: the award, or the refusal (recorded), or None (the code
    already has its draw for this campaign). Raises ``Stale`` when the cache was out of date.

    On PostgreSQL one statement does it all (``campaigns.claim_sql``), in the request's
    transaction or, ``alone``, as a transaction of its own (committed when this returns); the
    embedded database runs the same steps one statement at a time in a savepoint.
    """
    if alone or db.session.get_bind().dialect.name == "postgresql":
        return _claim_in_one_statement(campaign, tier, facts, pick, day, alone)
    try:
        with db.session.begin_nested():
            return _claim(campaign, tier, facts, pick, day)
    except _Refused as refused:
        record(campaign, facts, pick, refused.outcome, tier)
        return refused.outcome
    except IntegrityError:
        return None  # the code's draw for this campaign committed meanwhile (unique key)


def _claim(campaign: CampaignInfo, tier: TierInfo, facts: ScanFacts, pick: draws.Pick,
           day: date) -> Won:  # fmt: skip
    amount = pick.amount
    assert amount is not None
    _take_campaign(campaign, amount)
    _take_tier(tier)
    if not _count_win(campaign, facts.consumer_id, day):
        raise _Refused(DrawOutcome.limit_reached)
    draw_id, award_id = new_id(), new_id()
    red_packet = campaign.kind is CampaignKind.red_packet
    status = AwardStatus.pending if red_packet else AwardStatus.credited
    db.session.execute(
        insert(Draw).values(**draw_row(campaign, facts, pick, DrawOutcome.won, tier, draw_id))
    )
    db.session.execute(insert(Award).values(
        id=award_id, brand_id=facts.brand_id, campaign_id=campaign.id, draw_id=draw_id,
        consumer_id=facts.consumer_id, kind=campaign.kind, amount=amount, status=status,
        scan_id=facts.scan_id, code_key_id=facts.code_key_id, serial=facts.serial,
        created_at=facts.at, updated_at=facts.at,
    ))  # fmt: skip
    if red_packet:
        values = payout_values(award_id, facts, amount)
        db.session.execute(insert(Payout).values(**values))
    return _won(award_id, campaign, amount, status, facts)


def _claim_in_one_statement(campaign: CampaignInfo, tier: TierInfo, facts: ScanFacts,
                            pick: draws.Pick, day: date, alone: bool,
                            ) -> Won | DrawOutcome | None:  # fmt: skip
    amount = pick.amount
    assert amount is not None
    draw_id, award_id = new_id(), new_id()
    red_packet = campaign.kind is CampaignKind.red_packet
    status = AwardStatus.pending if red_packet else AwardStatus.credited
    payout = payout_values(award_id, facts, amount)
    values = claim_sql.params(
        payout, campaign_id=campaign.id, tier_id=tier.id, consumer_id=facts.consumer_id,
        version=campaign.version, amount=amount, total_cap=campaign.per_consumer_total,
        day_cap=campaign.per_consumer_per_day, day=day, draw_id=draw_id, brand_id=facts.brand_id,
        scan_id=facts.scan_id, code_key_id=facts.code_key_id, serial=facts.serial,
        random_ppm=pick.random_ppm, at=facts.at, award_id=award_id, kind=campaign.kind,
        award_status=status, red_packet=red_packet, strict=alone,
    )  # fmt: skip
    columns = tuple(payout)
    if alone:
        row = _alone(campaign.id, columns, values)
    else:
        row = db.first_row(claim_sql.driver_sql(columns), values)
    assert row is not None
    decided, recorded, counted, _, _ = row
    if decided is None or decided == "stale":  # no such campaign or tier, or not running
        raise Stale()
    if recorded is None:
        return None  # the code's draw for this campaign exists (unique key)
    if recorded != DrawOutcome.won.value:
        return DrawOutcome(recorded)
    if not counted:  # a concurrent first win of the consumer took the limit (not ``alone``)
        db.session.execute(claim_sql.CORRECT, {"draw_id": draw_id})
        return DrawOutcome.limit_reached
    return _won(award_id, campaign, amount, status, facts)


#: What the full claim returns for a win (decided, recorded, counted, written, raced).
_WON = ("won", "won", True, None, None)


def _alone(campaign_id: uuid.UUID, columns: tuple[str, ...],
           values: dict[str, Any]) -> tuple[Any, ...] | None:  # fmt: skip
    """The claim as a transaction of its own, through the campaign's gate: the short claim
    (the win as drawn, or nothing), else the full one, which decides and records why; the full
    one once more if it raced a concurrent first win of the consumer (``claim_raced()``: it
    kept nothing)."""
    full = claim_sql.driver_sql(columns)
    with _gate(campaign_id):
        try:
            db.alone_row(claim_sql.driver_sql(columns, short=True), values)
            return _WON
        except NoDataFound:  # ``claim_not_won()``: a guard refused or the code has its draw
            pass
        try:
            return db.alone_row(full, values)
        except SerializationFailure:
            return db.alone_row(full, values)  # the other win is committed and visible now


def payout_values(award_id: uuid.UUID, facts: ScanFacts, amount: int) -> dict[str, Any]:
    """The payout row of a red packet won at this scan (``campaigns.payouts.payout_row``)."""
    return payouts.payout_row(
        award_id, facts.brand_id, amount, provider=facts.payout_provider,
        cleared=facts.payouts_cleared, scene=facts.scene, at=facts.at,
    )  # fmt: skip


def _won(award_id: uuid.UUID, campaign: CampaignInfo, amount: int, status: AwardStatus,
         facts: ScanFacts) -> Won:  # fmt: skip
    payout = None
    if campaign.kind is CampaignKind.red_packet:
        payout = {
            "id": str(award_id), "provider": facts.payout_provider, "status": "pending",
            "out_trade_no": payouts.out_trade_no(award_id), "attempts": 0, "last_error": None,
            "paid_at": None, "expires_at": None,
        }  # fmt: skip
    return Won(award_id, campaign.id, campaign.kind, amount, status, payout)


def _now() -> Any:
    """PostgreSQL's clock for the window guards (the embedded database has none of its own)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.statement_timestamp()
    return utcnow()


def _running(campaign: CampaignInfo) -> list[Any]:
    now = _now()
    return [
        Campaign.id == campaign.id, Campaign.status == CampaignStatus.active,
        Campaign.version == campaign.version, Campaign.starts_at <= now, Campaign.ends_at > now,
    ]  # fmt: skip


def _take_campaign(campaign: CampaignInfo, amount: int) -> None:
    """Lock 2: the campaign row, guarded by status, version, window and budget."""
    row = db.session.execute(
        update(Campaign)
        .where(*_running(campaign), Campaign.spent + amount <= Campaign.budget)
        .values(spent=Campaign.spent + amount, awards_count=Campaign.awards_count + 1)
        .returning(Campaign.id)
        .execution_options(synchronize_session=False)
    ).first()
    if row is not None:
        return
    running = db.session.execute(select(Campaign.id).where(*_running(campaign))).first()
    if running is None:
        raise Stale()
    raise _Refused(DrawOutcome.budget_exhausted)


def _take_tier(tier: TierInfo) -> None:
    """Lock 3: the tier row, guarded by being current and its quantity."""
    guard = [PrizeTier.id == tier.id, PrizeTier.retired.is_(False)]
    if tier.quantity is not None:
        guard.append(PrizeTier.awarded < PrizeTier.quantity)
    row = db.session.execute(
        update(PrizeTier)
        .where(*guard)
        .values(awarded=PrizeTier.awarded + 1)
        .returning(PrizeTier.id)
        .execution_options(synchronize_session=False)
    ).first()
    if row is not None:
        return
    retired = db.session.scalar(select(PrizeTier.retired).where(PrizeTier.id == tier.id))
    if retired is not False:
        raise Stale()
    raise _Refused(DrawOutcome.tier_exhausted)


def _count_win(campaign: CampaignInfo, consumer_id: uuid.UUID, day: date) -> bool:
    """Lock 4: count the consumer's win; False when a limit is already reached.

    Wins are counted even without limits, so that limits added to a live campaign hold.
    """
    total_cap, day_cap = campaign.per_consumer_total, campaign.per_consumer_per_day
    w = ConsumerWins
    guard: list[Any] = []
    if total_cap is not None:
        guard.append(w.total < total_cap)
    if day_cap is not None:
        guard.append((w.day != day) | (w.day_count < day_cap))
    stmt = db.insert(ConsumerWins).values(
        campaign_id=campaign.id, consumer_id=consumer_id, total=1, day=day, day_count=1
    )
    row = db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["campaign_id", "consumer_id"],
            set_={
                "total": w.total + 1,
                "day_count": case((w.day == day, w.day_count + 1), else_=1),
                "day": day,
            },
            where=and_(*guard) if guard else None,
        ).returning(w.total)
    ).first()
    return row is not None

