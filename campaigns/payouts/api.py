"""Payouts for operators (``/api/v1/payouts``, reconciliation) and the shopper's own award."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import (
    consumer_required,
    current_actor,
    current_brand,
    current_consumer,
    staff_required,
)
from accounts.models import Role
from campaigns.models import Payout
from campaigns.payouts import reconcile, service
from campaigns.payouts.schemas import (
    PayoutDetailSchema,
    PayoutQuery,
    PayoutQuerySchema,
    PayoutRecordSchema,
    ReconciliationSchema,
    public,
)
from campaigns.rewards import reward_payload
from campaigns.schemas import MyAwardSchema

blp = Blueprint("payouts", __name__, url_prefix="/api/v1", description="Payouts")


@blp.get("/payouts")
@staff_required()
@blp.arguments(PayoutQuerySchema, location="query")
@blp.response(200, PayoutRecordSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_payouts(query: PayoutQuery, pagination_parameters: Any) -> list[Payout]:
    """The brand's payouts, newest first."""
    p = pagination_parameters
    rows, p.item_count = service.list_payouts(
        current_brand(), p.page, p.page_size, status=query.status, campaign_id=query.campaign_id
    )
    return rows


def _detail(payout: Payout) -> Payout:
    payout.events = service.events(payout)  # type: ignore[attr-defined]  # dumped, not stored
    return payout


@blp.get("/payouts/<payout_id>")
@staff_required()
@blp.response(200, PayoutDetailSchema)
def get_payout(payout_id: str) -> Payout:
    """One payout with every transition and provider call."""
    return _detail(service.get_payout(current_brand(), payout_id))


@blp.post("/payouts/<payout_id>/retry")
@staff_required(Role.operator)
@blp.response(200, PayoutDetailSchema)
def retry_payout(payout_id: str) -> Payout:
    """Send a failed payout again under a new round (409 unless it failed)."""
    return _detail(service.retry(current_brand(), payout_id, actor=current_actor()))


@blp.get("/campaigns/<campaign_id>/reconciliation")
@staff_required()
@blp.response(200, ReconciliationSchema)
def campaign_reconciliation(campaign_id: str) -> dict[str, Any]:
    """Budget, awarded, paid, pending, held, waiting, failed, cancelled, and every mismatch."""
    return reconcile.for_campaign(current_brand(), campaign_id)


@blp.get("/me/awards/<award_id>")
@consumer_required
@blp.response(200, MyAwardSchema)
def my_award(award_id: str) -> dict[str, Any]:
    """One of the shopper's awards (the mini-program polls it after ``client_action``)."""
    consumer = current_consumer()
    assert consumer is not None
    award = service.my_award(consumer.consumer_id, award_id)
    body = {**reward_payload(award), "created_at": award.created_at}
    if award.payout is not None:
        body["payout"] = public(award.payout)
    return body
