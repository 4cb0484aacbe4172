"""Typed inputs of the channel services, as the request schemas load them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class NewAggregation:
    """Children (codes or URLs) to pack into a parent."""

    parent: str
    children: list[str]


@dataclass(frozen=True)
class NewPartner:
    """A warehouse, dealer or store to register."""

    kind: str
    name: str
    province: str
    city: str
    parent_id: str | None = None
    territory: list[str] | None = None


@dataclass(frozen=True)
class PartnerQuery:
    """Filters of the partner list."""

    kind: str | None = None


@dataclass(frozen=True)
class Membership:
    """An invite code redeemed by a consumer."""

    invite_code: str


@dataclass(frozen=True)
class ScanLocation:
    """Where the clerk's phone was."""

    lat: float
    lng: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class ChannelScanInput:
    """A clerk's channel scan."""

    code: str
    action: str
    to_partner_id: str | None = None
    location: ScanLocation | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class FunnelQuery:
    """Filters and grouping of the channel funnel."""

    group_by: str = "partner"
    product_id: str | None = None
    from_: date | None = None
    to: date | None = None
