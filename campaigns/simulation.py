"""What a campaign will cost: expected spend and winners per day, and when the budget runs out.

``expect`` is the analytic model: each day, tier i wins ``p_i * draws`` times (capped by its
remaining quantity) at its mean amount; when a day's expected spend exceeds the remaining budget,
that day is scaled down and the budget is exhausted on it. ``monte_carlo`` runs the real draw
function (``campaigns.draws.choose``) draw by draw against the same budget and quantities, so a
test can hold the two against each other. Per-consumer limits are not modelled: the model assumes
every draw is by a consumer below their limits.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from campaigns import draws
from campaigns.terms import Tier

MAX_DAYS = 3650
DAILY_ROWS = 400


@dataclass(frozen=True)
class Plan:
    """The inputs: what is left of the campaign, and the expected traffic."""

    tiers: Sequence[Tier]
    remaining_budget: int
    tier_awarded: Sequence[int]
    start: date
    end: date
    draws_per_day: int


def without_share(plan: Plan, share: float) -> Plan:
    """The plan with ``share`` of the wins taken back (fraud rejections return their money to the
    budget): each tier's probability scaled by ``1 - share``."""
    tiers = [replace(t, probability_ppm=round(t.probability_ppm * (1 - share))) for t in plan.tiers]
    return replace(plan, tiers=tiers)


@dataclass
class Day:
    """One simulated day."""

    date: date
    winners: float
    spend: float
    remaining_budget: float


@dataclass
class Forecast:
    """The outcome of a simulation."""

    expected_spend_per_draw: float
    expected_winners_per_day: float
    expected_spend_per_day: float
    expected_total_spend: float
    expected_total_winners: float
    budget_exhausted_on: date | None
    tier_exhausted_on: list[date | None]
    tier_winners: list[float]
    days: list[Day] = field(default_factory=list)


def _mean(tier: Tier) -> float:
    return (tier.min_amount + tier.max_amount) / 2


def _cheapest(tiers: Sequence[Tier], in_stock: Sequence[bool]) -> float:
    """The smallest prize still available (infinite when none is): less budget is exhausted."""
    return min((t.min_amount for t, ok in zip(tiers, in_stock, strict=True) if ok),
               default=float("inf"))  # fmt: skip


def _days(plan: Plan) -> int:
    return max(0, min((plan.end - plan.start).days + 1, MAX_DAYS))


def expect(plan: Plan) -> Forecast:
    """The analytic forecast of a plan."""
    tiers, n = list(plan.tiers), plan.draws_per_day
    stock = [
        float("inf") if t.quantity is None else float(t.quantity - done)
        for t, done in zip(tiers, plan.tier_awarded, strict=True)
    ]
    per_draw = sum(t.probability_ppm / draws.PPM_FLOAT * _mean(t) for t in tiers)
    budget = float(plan.remaining_budget)
    result = Forecast(per_draw, 0.0, 0.0, 0.0, 0.0, None, [None] * len(tiers), [0.0] * len(tiers))
    for offset in range(_days(plan)):
        day = plan.start + timedelta(days=offset)
        wins = [
            min(t.probability_ppm / draws.PPM_FLOAT * n, s)
            for t, s in zip(tiers, stock, strict=True)
        ]
        spend = sum(w * _mean(t) for w, t in zip(wins, tiers, strict=True))
        if spend <= 0:
            break
        scale = min(1.0, budget / spend)
        wins, spend = [w * scale for w in wins], spend * scale
        budget -= spend
        for i, w in enumerate(wins):
            stock[i] -= w
            result.tier_winners[i] += w
            if result.tier_exhausted_on[i] is None and stock[i] <= 1e-9:
                result.tier_exhausted_on[i] = day
        result.expected_total_spend += spend
        result.expected_total_winners += sum(wins)
        if offset == 0:
            result.expected_winners_per_day, result.expected_spend_per_day = sum(wins), spend
        if len(result.days) < DAILY_ROWS:
            result.days.append(Day(day, sum(wins), spend, budget))
        if scale < 1.0 or budget < _cheapest(tiers, [s > 1e-9 for s in stock]):
            result.budget_exhausted_on = day
            break
    return result


@dataclass
class Run:
    """The outcome of one Monte Carlo run."""

    total_spend: int = 0
    total_winners: int = 0
    budget_exhausted_on: date | None = None
    daily_spend: list[int] = field(default_factory=list)


def monte_carlo(plan: Plan, rng: random.Random) -> Run:
    """Draw every draw of the plan with the real draw function and the real refusals."""
    tiers = list(plan.tiers)
    stock = [None if t.quantity is None else t.quantity - d
             for t, d in zip(tiers, plan.tier_awarded, strict=True)]  # fmt: skip
    budget, run = plan.remaining_budget, Run()
    for offset in range(_days(plan)):
        spent_today = 0
        for _ in range(plan.draws_per_day):
            pick = draws.choose(tiers, rng.randrange)
            if pick.tier_index is None or pick.amount is None or pick.amount > budget:
                continue
            left = stock[pick.tier_index]
            if left is not None and left <= 0:
                continue
            if left is not None:
                stock[pick.tier_index] = left - 1
            budget -= pick.amount
            spent_today += pick.amount
            run.total_winners += 1
        run.total_spend += spent_today
        run.daily_spend.append(spent_today)
        if budget < _cheapest(tiers, [left is None or left > 0 for left in stock]):
            run.budget_exhausted_on = plan.start + timedelta(days=offset)
            break
    return run
