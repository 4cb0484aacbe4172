"""What a provider is given (an ``Order``, plain data read before the call) and what it says."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from campaigns.payouts.config import Merchant


class Outcome(enum.StrEnum):
    """How one provider call ended."""

    paid = "paid"  # the money reached the shopper
    awaiting_user = "awaiting_user"  # the shopper must confirm or open it
    failed = "failed"  # definitively not paid: safe to return the money
    cancelled = "cancelled"  # an unconfirmed bill was cancelled (or had expired)
    not_found = "not_found"  # a query: the provider has no such payment
    unknown = "unknown"  # timeout, SYSTEMERROR, PROCESSING, 5xx: retry the SAME number or query


@dataclass(frozen=True)
class Order:
    """One payment as the provider sees it (no ORM objects: calls run outside transactions)."""

    payout_id: str
    brand_id: str
    provider: str
    out_trade_no: str
    amount_fen: int
    openid: str | None
    scene: int | None
    merchant: Merchant
    brand_name: str
    campaign_name: str
    notify_url: str
    base_url: str
    ca_bundle: str | None
    timeout: float


@dataclass(frozen=True)
class Result:
    """What a provider said; ``error_code`` and ``reason`` explain anything but success."""

    outcome: Outcome
    provider_status: str | None = None
    reference: str | None = None
    client_action: dict[str, Any] | None = None
    expires_at: datetime | None = None
    paid_fen: int | None = None
    error_code: str | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """A way of paying a red packet; every call is safe to repeat with the same order."""

    name: str

    def send(self, order: Order) -> Result: ...

    def query(self, order: Order) -> Result: ...

    def cancel(self, order: Order) -> Result: ...
