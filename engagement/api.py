"""``POST /api/v1/scans``: the shopper's scan."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask_smorest import Blueprint

from accounts.auth import client_ip, consumer_optional, current_consumer
from anticounterfeit.scans import Location, ScanInput
from engagement import service
from engagement.schemas import ScanRequestSchema, ScanResponseSchema

blp = Blueprint("engagement", __name__, url_prefix="/api/v1", description="Scans")


def prefers_english() -> bool:
    """zh-CN unless the caller's Accept-Language prefers English."""
    if "Accept-Language" not in request.headers:
        return False
    return request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN") == "en"


@blp.post("/scans")
@consumer_optional
@blp.arguments(ScanRequestSchema())  # an instance: given the class, webargs builds one per request
@blp.response(200, ScanResponseSchema)
def create_scan(body: dict[str, Any]) -> Response:
    """Verify a scanned code; a logged-in consumer may win rewards."""
    consumer = current_consumer()
    loc = body.get("location")
    facts = ScanInput(
        raw=body["code"],
        consumer_id=consumer.consumer_id if consumer else None,
        consumer_brand_id=consumer.brand_id if consumer else None,
        device_id=body.get("device_id"),
        pin=body["pin"].strip() if body.get("pin") else None,
        location=Location(loc["lat"], loc["lng"], loc.get("accuracy_m")) if loc else None,
        scene=body.get("scene"),
        ip=client_ip(),
    )
    config = current_app.config
    outcome = service.process_scan(
        facts, english=prefers_english(), rate_limit=config["RATELIMIT_ENABLED"]
    )
    # scan_payload builds exactly what ScanResponseSchema describes (a test holds them to it);
    # dumping it again would cost more than the rest of the view, on the busiest endpoint.
    return jsonify(service.scan_payload(outcome, config["PUBLIC_BASE_URL"]))
