"""Typed inputs of the campaign services, as the request schemas load them.

A campaign body uses the API's kind-specific names (``amount_fen`` / ``points``, ``budget_fen`` /
``budget_points``); ``campaigns.terms.build`` turns it into ``Terms``. For a PATCH, only the
fields in ``given`` were sent (``core.schemas.Patch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from campaigns.models import AwardStatus, CampaignKind, CampaignStatus, DrawOutcome
from core.schemas import Patch


@dataclass(frozen=True)
class PrizeInput:
    """One prize tier as sent: a fixed amount or a range, in the campaign kind's names."""

    probability: float
    amount_fen: int | None = None
    min_amount_fen: int | None = None
    max_amount_fen: int | None = None
    points: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    quantity: int | None = None


@dataclass(frozen=True)
class LimitsInput(Patch):
    """Per-consumer win limits; a limit sent as null is removed."""

    per_consumer_per_day: int | None = None
    per_consumer_total: int | None = None


@dataclass(frozen=True)
class TargetingInput(Patch):
    """Which scans a campaign draws for."""

    product_ids: list[str] | None = None
    code_batch_ids: list[str] | None = None
    regions: list[str] | None = None
    new_consumers_only: bool | None = None
    segment_ids: list[str] | None = None


@dataclass(frozen=True)
class CampaignInput(Patch):
    """A campaign's terms as sent (whole for a create, some of them for a patch)."""

    name: str | None = None
    kind: CampaignKind | None = None
    budget_fen: int | None = None
    budget_points: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    prizes: list[PrizeInput] | None = None
    limits: LimitsInput | None = None
    targeting: TargetingInput | None = None
    points_valid_days: int | None = None
    audience: str | None = None


@dataclass(frozen=True)
class CampaignQuery:
    """Filters of the campaign list."""

    status: CampaignStatus | None = None


@dataclass(frozen=True)
class SimulationRequest:
    """How many eligible scans a day to forecast for, from which day."""

    scans_per_day: int
    start_date: date | None = None


@dataclass(frozen=True)
class AwardQuery:
    """Filters of the award list."""

    campaign_id: str | None = None
    status: AwardStatus | None = None


@dataclass(frozen=True)
class DrawQuery:
    """Filters of a campaign's draws."""

    outcome: DrawOutcome | None = None


@dataclass(frozen=True)
class Cancellation:
    """Why an award is cancelled."""

    reason: str


@dataclass(frozen=True)
class NewCatalogueItem:
    """An item consumers can redeem points for (``stock`` None: unlimited)."""

    name: str
    points_cost: int
    description: str | None = None
    stock: int | None = None
    active: bool = True


@dataclass(frozen=True)
class CatalogueItemPatch(Patch):
    """Changes to a catalogue item; ``stock`` sent as null makes it unlimited."""

    name: str | None = None
    description: str | None = None
    points_cost: int | None = None
    stock: int | None = None
    active: bool | None = None


@dataclass(frozen=True)
class RedemptionRequest:
    """A consumer's redemption; a repeated ``request_id`` is refused."""

    item_id: str
    request_id: str
    quantity: int = 1
