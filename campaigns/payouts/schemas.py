"""Request and response schemas of the payouts API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate

from campaigns.models import Payout, PayoutStatus
from core.schemas import InputSchema

#: Statuses as API.md shows them (``processing`` is still ``pending`` to everyone outside).
SHOWN = [s.value for s in PayoutStatus if s is not PayoutStatus.processing]


def shown_status(payout: Payout) -> str:
    """The API status of a payout."""
    return "pending" if payout.status is PayoutStatus.processing else payout.status.value


def public(payout: Payout) -> dict[str, Any]:
    """The ``payout`` object of award JSON (API.md, Payouts)."""
    return {
        "id": str(payout.id), "provider": payout.provider, "status": shown_status(payout),
        "out_trade_no": payout.out_trade_no, "attempts": payout.attempts,
        "last_error": payout.last_error,
        "paid_at": payout.paid_at.isoformat() if payout.paid_at else None,
        "expires_at": payout.expires_at.isoformat() if payout.expires_at else None,
    }  # fmt: skip


@dataclass(frozen=True)
class PayoutQuery:
    """Filters of ``GET /api/v1/payouts``."""

    status: str | None = None
    campaign_id: str | None = None


class PayoutQuerySchema(InputSchema):
    __model__ = PayoutQuery
    status = fields.String(validate=validate.OneOf(SHOWN))
    campaign_id = fields.String(validate=validate.Length(max=64))


class PayoutRecordSchema(Schema):
    id = fields.String()
    provider = fields.String()
    status = fields.Function(shown_status)
    stage = fields.Function(lambda p: p.status.value)
    out_trade_no = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    award_id = fields.String()
    campaign_id = fields.Function(lambda p: str(p.award.campaign_id))
    consumer_id = fields.Function(lambda p: str(p.award.consumer_id))
    amount_fen = fields.Integer()
    round = fields.Integer()
    client_action = fields.Dict(allow_none=True)
    provider_reference = fields.String(allow_none=True)
    provider_status = fields.String(allow_none=True)
    provider_paid_fen = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PayoutEventSchema(Schema):
    at = fields.String()
    kind = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    call = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)


class PayoutDetailSchema(PayoutRecordSchema):
    events = fields.List(fields.Nested(PayoutEventSchema))


class ReconciliationSchema(Schema):
    campaign_id = fields.String()
    budget_fen = fields.Integer()
    remaining_fen = fields.Integer()
    awarded_fen = fields.Integer()
    paid_fen = fields.Integer()
    pending_fen = fields.Integer()
    held_fen = fields.Integer()
    awaiting_user_fen = fields.Integer()
    failed_fen = fields.Integer()
    cancelled_fen = fields.Integer()
    provider_paid_fen = fields.Integer()
    mismatches = fields.List(fields.Dict())
