"""Payouts of red packet awards: one ``Payout`` row per award, driven by idempotent jobs.

The row is the outbox: it is written in the transaction that creates the award, its
``out_trade_no`` is fixed then (stable across retries, <= 28 characters of [0-9A-Za-z] as WeChat
Pay requires), and ``pay_award`` re-reads it under a row lock and acts only on ``pending`` or
``processing`` payouts, so duplicate or replayed jobs change nothing. Providers: ``sandbox``
completes at once (until the WeChat Pay providers of the payouts issue exist).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import select

from accounts.models import Brand
from campaigns.models import Award, AwardStatus, Payout, PayoutStatus
from core.db import db, utcnow
from workers.job import enqueue_after_commit

log = logging.getLogger(__name__)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
OPEN = (PayoutStatus.pending, PayoutStatus.processing)


def out_trade_no(award_id: uuid.UUID) -> str:
    """Our payment number for an award: 'YW' + base62 of its id (24 characters, stable)."""
    n, digits = award_id.int, []
    while n:
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    return "YW" + "".join(reversed(digits)).rjust(22, "0")


@dataclass(frozen=True)
class ProviderResult:
    """What a provider said about one payment attempt."""

    status: PayoutStatus
    reference: str | None = None
    client_action: dict[str, Any] | None = None
    error: str | None = None


class PayoutProvider(Protocol):
    """A way of paying a red packet."""

    name: str

    def pay(self, payout: Payout) -> ProviderResult: ...


class SandboxProvider:
    """Pays at once, moving no money: the default until WeChat Pay providers are configured."""

    name = "sandbox"

    def pay(self, payout: Payout) -> ProviderResult:
        return ProviderResult(PayoutStatus.paid, reference=f"sandbox-{payout.out_trade_no}")


class UnavailableProvider:
    """A configured provider this build cannot use yet: the payout stays pending, with a reason."""

    def __init__(self, name: str) -> None:
        self.name = name

    def pay(self, payout: Payout) -> ProviderResult:
        return ProviderResult(
            PayoutStatus.pending, error=f"payout provider {self.name!r} is not available"
        )


def provider() -> PayoutProvider:
    """The configured payout provider (``PAYOUT_PROVIDER``)."""
    name = current_app.config.get("PAYOUT_PROVIDER", "sandbox")
    return SandboxProvider() if name == "sandbox" else UnavailableProvider(name)


def create_payout(award: Award) -> Payout:
    """The payout row of a new red packet award; its job is sent when the transaction commits."""
    payout = Payout(
        id=award.id, brand_id=award.brand_id, award_id=award.id, provider=provider().name,
        out_trade_no=out_trade_no(award.id), amount_fen=award.amount,
        status=PayoutStatus.pending, attempts=0, cleared=not waits_for_fraud_check(award.brand_id),
    )  # fmt: skip
    db.session.add(payout)
    if payout.cleared:  # else the scan's fraud check sends it (fraud.holds.clear)
        enqueue_after_commit(pay_award_job(), str(payout.id), queue_name="payouts")
    return payout


def waits_for_fraud_check(brand_id: uuid.UUID) -> bool:
    """Whether the brand's red packets wait for their scan's fraud check (on by default)."""
    brand = db.session.get(Brand, brand_id)  # loaded by the request already: no query
    return bool(brand is None or brand.settings.get("fraud_hold_payouts", True))


def pay_award_job() -> Any:
    """The RQ entry point (imported lazily: jobs import this module)."""
    from campaigns.jobs import pay_award

    return pay_award


_AWARD_STATUS = {
    PayoutStatus.paid: AwardStatus.paid,
    PayoutStatus.awaiting_user: AwardStatus.awaiting_user,
    PayoutStatus.failed: AwardStatus.failed,
    PayoutStatus.cancelled: AwardStatus.cancelled,
}


def pay(payout_id: uuid.UUID) -> PayoutStatus | None:
    """One payment attempt for an open payout; anything else is left alone (idempotent)."""
    payout = db.session.scalar(
        select(Payout).where(Payout.id == payout_id).with_for_update(of=Payout)
    )
    if payout is None or payout.status not in OPEN:
        return payout.status if payout else None
    if payout.award.status is AwardStatus.held or not payout.cleared:
        return payout.status  # the fraud check (or review) decides; it sends the payment again
    payout.attempts += 1
    result = provider().pay(payout)
    payout.status, payout.last_error = result.status, result.error
    payout.provider_reference = result.reference or payout.provider_reference
    payout.client_action = result.client_action or payout.client_action
    if result.status is PayoutStatus.paid:
        payout.paid_at = utcnow()
    if result.status in _AWARD_STATUS:
        payout.award.status = _AWARD_STATUS[result.status]
    db.session.flush()
    return payout.status


def stuck(older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[uuid.UUID]:
    """Open payouts not touched for a while (their job was lost, or the provider was down)."""
    rows = db.session.scalars(
        select(Payout.id)
        .where(
            Payout.status.in_(OPEN),
            Payout.cleared.is_(True),
            Payout.updated_at < utcnow() - older_than,
        )
        .order_by(Payout.updated_at)
        .limit(limit)
    )
    return list(rows)
