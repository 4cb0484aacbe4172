"""The shopper's API: ``POST /api/v1/scans`` and their own account under ``/api/v1/me``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Response, current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from accounts.auth import (
    ConsumerIdentity,
    client_ip,
    consumer_optional,
    consumer_required,
    current_consumer,
)
from campaigns.inputs import RedemptionRequest
from campaigns.schemas import (
    CatalogueItemSchema,
    MyAwardSchema,
    PointsEntrySchema,
    RedemptionCreateSchema,
    RedemptionResultSchema,
    RedemptionSchema,
)
from core.lang import prefers_english
from engagement import account, service
from engagement.inputs import ScanRequest
from engagement.schemas import MeSchema, ScanRequestSchema, ScanResponseSchema

blp = Blueprint("engagement", __name__, url_prefix="/api/v1", description="Scans")


@blp.post("/scans")
@consumer_optional
@blp.arguments(ScanRequestSchema())  # an instance: given the class, webargs builds one per request
@blp.response(200, ScanResponseSchema)
def create_scan(body: ScanRequest) -> Response:
    """Verify a scanned code; a logged-in consumer may win rewards."""
    consumer = current_consumer()
    facts = body.facts(
        consumer.consumer_id if consumer else None,
        consumer.brand_id if consumer else None,
        client_ip(),
    )
    if consumer is not None and consumer.precise_location:
        facts = replace(facts, precise_location=True)  # else coordinates are kept at the city
    config = current_app.config
    outcome = service.process_scan(
        facts, english=prefers_english(), rate_limit=config["RATELIMIT_ENABLED"]
    )
    # scan_payload builds exactly what ScanResponseSchema describes (test_scan_payload_is_complete
    # holds every field of it, nested ones included, for every kind of outcome);
    # dumping it again would cost more than the rest of the view, on the busiest endpoint.
    return jsonify(service.scan_payload(outcome, config["PUBLIC_BASE_URL"]))


@blp.get("/me")
@consumer_required
@blp.response(200, MeSchema)
def me() -> dict[str, Any]:
    """The shopper's points balance, scan count and red packet total."""
    return account.summary(_consumer())


@blp.get("/me/awards")
@consumer_required
@blp.response(200, MyAwardSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def my_awards(pagination_parameters: Any) -> list[dict[str, Any]]:
    """The shopper's awards, newest first."""
    p = pagination_parameters
    rows, p.item_count = account.awards(_consumer(), p.page, p.page_size)
    return rows


@blp.get("/me/points")
@consumer_required
@blp.response(200, PointsEntrySchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def my_points(pagination_parameters: Any) -> list[Any]:
    """The shopper's points ledger, newest first (credits, redemptions, expiries, reversals)."""
    p = pagination_parameters
    rows, p.item_count = account.ledger(_consumer(), p.page, p.page_size)
    return rows


@blp.get("/me/catalogue-items")
@consumer_required
@blp.response(200, CatalogueItemSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def my_catalogue(pagination_parameters: Any) -> list[Any]:
    """What the shopper can redeem points for."""
    p = pagination_parameters
    rows, p.item_count = account.items(_consumer(), p.page, p.page_size)
    return rows


@blp.route("/me/redemptions")
class MyRedemptions(MethodView):
    @consumer_required
    @blp.response(200, RedemptionSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[Any]:
        """The shopper's redemptions, newest first."""
        p = pagination_parameters
        rows, p.item_count = account.redemptions(_consumer(), p.page, p.page_size)
        return rows

    @consumer_required
    @blp.arguments(RedemptionCreateSchema)
    @blp.response(201, RedemptionResultSchema)
    def post(self, body: RedemptionRequest) -> dict[str, Any]:
        """Redeem points for a catalogue item (``request_id`` makes a repeat a 409)."""
        return account.redeem(_consumer(), body)


def _consumer() -> ConsumerIdentity:
    consumer = current_consumer()
    assert consumer is not None
    return consumer
