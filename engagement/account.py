"""What a shopper sees of their own account: summary, awards, points, catalogue, redemptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from accounts.auth import ConsumerIdentity
from anticounterfeit.models import ScanEvent
from campaigns import catalogue, points
from campaigns.inputs import RedemptionRequest
from campaigns.models import Award, CampaignKind, CatalogueItem, Redemption
from campaigns.models.award import RELEASED
from campaigns.rewards import reward_payload
from core.db import db
from core.queries import page


def summary(consumer: ConsumerIdentity) -> dict[str, Any]:
    """``GET /api/v1/me`` (API.md)."""
    cid = consumer.consumer_id
    scans = db.session.scalar(
        select(func.count()).select_from(ScanEvent).where(ScanEvent.consumer_id == cid)
    )
    cash = db.session.scalar(
        select(func.coalesce(func.sum(Award.amount), 0)).where(
            Award.consumer_id == cid,
            Award.kind == CampaignKind.red_packet,
            Award.status.not_in(RELEASED),
        )
    )
    return {
        "id": str(cid),
        "points_balance": points.balance(cid),
        "scan_count": int(scans or 0),
        "red_packet_total_fen": int(cash or 0),
    }


def awards(consumer: ConsumerIdentity, number: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """The consumer's awards, newest first, shaped as in the scan response plus ``created_at``."""
    query = select(Award).where(Award.consumer_id == consumer.consumer_id)
    rows, total = page(query.order_by(Award.created_at.desc(), Award.id.desc()), number, size)
    return [{**reward_payload(a), "created_at": a.created_at} for a in rows], total


def ledger(consumer: ConsumerIdentity, number: int, size: int) -> tuple[list[Any], int]:
    """The consumer's points movements, newest first."""
    return points.ledger(consumer.consumer_id, number, size)


def items(consumer: ConsumerIdentity, number: int, size: int) -> tuple[list[CatalogueItem], int]:
    """The brand's active catalogue."""
    return catalogue.list_items(consumer.brand_id, number, size, active_only=True)


def redeem(consumer: ConsumerIdentity, body: RedemptionRequest) -> dict[str, Any]:
    """Spend points on a catalogue item; the redemption plus the new balance."""
    redemption, balance = catalogue.redeem(
        consumer.brand_id, consumer.consumer_id, body.item_id, quantity=body.quantity,
        request_id=body.request_id,
    )  # fmt: skip
    db.session.refresh(redemption)
    return {**_redemption_fields(redemption), "points_balance": balance}


def _redemption_fields(r: Redemption) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ("id", "item_id", "quantity", "points", "status",
                                       "request_id", "created_at")} | {"item": r.item}  # fmt: skip


def redemptions(consumer: ConsumerIdentity, number: int, size: int) -> tuple[list[Redemption], int]:
    """The consumer's redemptions, newest first."""
    return catalogue.list_redemptions(consumer.consumer_id, number, size)
