"""A campaign's terms as plain values, and the cross-field rules they must satisfy.

The API speaks in kind-specific names (``amount_fen`` / ``points``, ``budget_fen`` /
``budget_points``); inside, amounts are unit-free integers and probabilities integer parts per
million. ``build`` turns a request body (a ``CampaignInput``: whole, or a patch over current
terms) into ``Terms`` and raises ``InvalidTerms`` with per-field errors when the result breaks a
rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from campaigns.draws import to_ppm
from campaigns.errors import InvalidTerms
from campaigns.inputs import CampaignInput, PrizeInput
from campaigns.models import PPM, Campaign, CampaignKind

UNIT = {CampaignKind.red_packet: "fen", CampaignKind.points: "points"}
MAX_TIERS = 20
#: The largest single prize: WeChat Pay's ceiling for one red packet (200 yuan) whatever the
#: provider, and a sensible bound for points.
MAX_PRIZE = {CampaignKind.red_packet: 20_000, CampaignKind.points: 1_000_000}
MAX_YEARS = 10  # API.md: ends_at at most ten years after starts_at (TTLs stay finite)
LATEST_START = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Tier:
    """One prize: ``min_amount == max_amount`` for a fixed amount."""

    min_amount: int
    max_amount: int
    probability_ppm: int
    quantity: int | None = None


@dataclass(frozen=True)
class Terms:
    """Everything a marketer decides about a campaign."""

    name: str
    kind: CampaignKind
    budget: int
    starts_at: datetime
    ends_at: datetime
    tiers: tuple[Tier, ...]
    per_consumer_per_day: int | None = None
    per_consumer_total: int | None = None
    product_ids: tuple[str, ...] = ()
    code_batch_ids: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    new_consumers_only: bool = False
    points_valid_days: int | None = None
    segment_ids: tuple[str, ...] = ()
    audience: str = "consumer"

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able record of these terms (the campaign version)."""
        data = asdict(self)
        data["kind"] = self.kind.value
        data["starts_at"], data["ends_at"] = self.starts_at.isoformat(), self.ends_at.isoformat()
        return data


def amount_name(kind: CampaignKind, prefix: str = "") -> str:
    """``amount_fen`` / ``points`` (with ``min_`` or ``max_``)."""
    if kind is CampaignKind.red_packet:
        return f"{prefix}amount_fen"
    return f"{prefix}points"


def budget_name(kind: CampaignKind) -> str:
    """``budget_fen`` or ``budget_points``."""
    return f"budget_{UNIT[kind]}"


def _amounts(prize: PrizeInput, kind: CampaignKind) -> tuple[int | None, int | None, int | None]:
    """The prize's fixed, minimum and maximum amount in ``kind``'s names."""
    if kind is CampaignKind.red_packet:
        return prize.amount_fen, prize.min_amount_fen, prize.max_amount_fen
    return prize.points, prize.min_points, prize.max_points


def _tier(kind: CampaignKind, prize: PrizeInput, errors: dict[str, list[str]]) -> Tier | None:
    other = CampaignKind.points if kind is CampaignKind.red_packet else CampaignKind.red_packet
    foreign = [amount_name(other, p) for p, value in zip(("", "min_", "max_"),
               _amounts(prize, other), strict=True) if value is not None]  # fmt: skip
    if foreign:
        errors.setdefault(foreign[0], []).append(f"not a field of a {kind.value} campaign")
        return None
    fixed, low, high = _amounts(prize, kind)
    if fixed is not None and (low is not None or high is not None):
        errors.setdefault(amount_name(kind), []).append("give a fixed amount or a range, not both")
        return None
    if fixed is None and (low is None or high is None):
        errors.setdefault(amount_name(kind), []).append(
            f"give {amount_name(kind)} or both {amount_name(kind, 'min_')} and "
            f"{amount_name(kind, 'max_')}"
        )
        return None
    low, high = (fixed, fixed) if fixed is not None else (low, high)
    assert low is not None and high is not None
    if low > high:
        errors.setdefault(amount_name(kind, "min_"), []).append("must not exceed the maximum")
        return None
    return Tier(low, high, to_ppm(prize.probability), prize.quantity)


def _tiers(
    kind: CampaignKind, prizes: list[PrizeInput], errors: dict[str, Any]
) -> tuple[Tier, ...]:
    tiers, per_prize = [], {}
    for index, prize in enumerate(prizes):
        problems: dict[str, list[str]] = {}
        tier = _tier(kind, prize, problems)
        if tier is not None and tier.probability_ppm == 0:
            problems.setdefault("probability", []).append(f"rounds to 0 at 1/{PPM} precision")
        if tier is not None and tier.max_amount > MAX_PRIZE[kind]:
            name = amount_name(kind, "max_" if tier.min_amount != tier.max_amount else "")
            problems.setdefault(name, []).append(
                f"must be at most {MAX_PRIZE[kind]} {UNIT[kind]}"
            )
        if problems:
            per_prize[index] = problems
        elif tier is not None:
            tiers.append(tier)
    if per_prize:
        errors["prizes"] = per_prize
    elif sum(t.probability_ppm for t in tiers) > PPM:
        errors["prizes"] = ["probabilities sum to more than 1"]
    return tuple(tiers)


def _budget(body: CampaignInput, kind: CampaignKind) -> tuple[int | None, str | None]:
    """The budget in ``kind``'s name, and the other kind's budget name if that was sent."""
    if kind is CampaignKind.red_packet:
        return body.budget_fen, "budget_points" if body.budget_points is not None else None
    return body.budget_points, "budget_fen" if body.budget_fen is not None else None


def _from_body(body: CampaignInput, base: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    values = dict(base)
    kind = body.kind or values["kind"]
    values["kind"] = kind
    for key in ("name", "starts_at", "ends_at", "points_valid_days"):
        if getattr(body, key) is not None:
            values[key] = getattr(body, key)
    budget, foreign = _budget(body, kind)
    if budget is not None:
        values["budget"] = budget
    if foreign is not None:
        errors[foreign] = [f"not a field of a {kind.value} campaign"]
    if body.prizes is not None:
        values["tiers"] = _tiers(kind, body.prizes, errors)
    for section in (body.limits, body.targeting):
        for key, value in (section.changes() if section else {}).items():
            values[key] = tuple(value) if isinstance(value, list) else value
    if body.audience is not None:
        values["audience"] = body.audience
    return values


def _years_later(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later (29 February becomes 1 March)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February, or past year 9999
        if moment.year + years > 9999:
            return datetime.max.replace(tzinfo=moment.tzinfo)
        return moment.replace(year=moment.year + years, month=3, day=1)


def _check(terms: Terms, errors: dict[str, Any]) -> None:
    if terms.ends_at <= terms.starts_at:
        errors.setdefault("ends_at", []).append("must be after starts_at")
    elif terms.ends_at > _years_later(terms.starts_at, MAX_YEARS):
        errors.setdefault("ends_at", []).append("must be at most ten years after starts_at")
    if terms.starts_at >= LATEST_START:
        errors.setdefault("starts_at", []).append(f"must be before {LATEST_START.year}")
    if terms.tiers and "prizes" not in errors:
        largest = max(t.max_amount for t in terms.tiers)
        if terms.budget < largest:
            errors.setdefault(budget_name(terms.kind), []).append(
                f"is smaller than the largest prize ({largest} {UNIT[terms.kind]})"
            )
    if terms.points_valid_days is not None and terms.kind is not CampaignKind.points:
        errors.setdefault("points_valid_days", []).append("only for points campaigns")


def build(body: CampaignInput, current: Terms | None = None) -> Terms:
    """Terms from a full body (``current`` None) or from a patch over ``current``; validated."""
    errors: dict[str, Any] = {}
    base = asdict(current) if current else {}
    if current is not None:
        base["tiers"] = current.tiers
    if current is not None and body.kind is not None and body.kind is not current.kind:
        raise InvalidTerms("A campaign's kind cannot change.", field="kind")
    values = _from_body(body, base, errors)
    if "budget" not in values:
        errors[budget_name(values["kind"])] = ["is required"]
    if errors:
        raise InvalidTerms(errors=errors)
    terms = Terms(**values)
    _check(terms, errors)
    if errors:
        raise InvalidTerms(errors=errors)
    return terms


def of(campaign: Campaign) -> Terms:
    """The current terms of a stored campaign."""
    return Terms(
        name=campaign.name, kind=campaign.kind, budget=campaign.budget,
        starts_at=campaign.starts_at, ends_at=campaign.ends_at,
        tiers=tuple(Tier(t.min_amount, t.max_amount, t.probability_ppm, t.quantity)
                    for t in campaign.tiers),
        per_consumer_per_day=campaign.per_consumer_per_day,
        per_consumer_total=campaign.per_consumer_total,
        product_ids=tuple(campaign.product_ids), code_batch_ids=tuple(campaign.code_batch_ids),
        regions=tuple(campaign.regions), new_consumers_only=campaign.new_consumers_only,
        points_valid_days=campaign.points_valid_days, segment_ids=tuple(campaign.segment_ids),
        audience=campaign.audience.value,
    )  # fmt: skip
