"""Parties, EPCIS capture and query (brand console), and the story of a unit (shoppers)."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from accounts.auth import current_actor, current_brand, staff_required
from accounts.models import Role
from core.errors import DomainError
from core.lang import prefers_english
from provenance import parties, service
from provenance.epcis.capture import capture
from provenance.epcis.query import query_document
from provenance.errors import InvalidEpcis
from provenance.models import Party
from provenance.parties import PartyInput
from provenance.schemas import (
    CaptureResultSchema,
    EventsQuery,
    EventsQuerySchema,
    LotJourneySchema,
    LotSummarySchema,
    PartyCreateSchema,
    PartySchema,
    StorySchema,
)

blp = Blueprint("provenance", __name__, url_prefix="/api/v1", description="Provenance")
EDITORS = (Role.operator,)
JSON_BODY = {"schema": {"type": "object", "description": "An EPCIS 2.0 EPCISDocument"}}


class MalformedJson(DomainError):
    reason = "malformed_json"
    http_status = 400
    message = "The request body is not valid JSON."


@blp.route("/parties")
class Parties(MethodView):
    @staff_required()
    @blp.response(200, PartySchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[Party]:
        """The brand's supply-chain parties."""
        rows, total = parties.list_parties(
            current_brand(), pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return rows

    @staff_required(*EDITORS)
    @blp.arguments(PartyCreateSchema)
    @blp.response(201, PartySchema)
    def post(self, body: PartyInput) -> Party:
        """Register a party (with its Ed25519 public key if it signs claims)."""
        return parties.create_party(current_brand(), body, actor=current_actor())


def _too_large(limit: int) -> InvalidEpcis:
    return InvalidEpcis(
        [{"path": "/", "problem": "too_large", "message": f"the document exceeds {limit} bytes"}],
        f"The EPCIS document is larger than {limit} bytes; split it. Nothing was stored.",
    )


def read_document(limit: int) -> Any:
    """The request's JSON body, refused with ``invalid_epcis`` beyond ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    request.max_content_length = limit
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge as exc:
        raise _too_large(limit) from exc
    try:
        return json.loads(raw)
    except RecursionError as exc:
        too_deep = {"path": "/", "problem": "too_deep", "message": "nested too deep"}
        raise InvalidEpcis([too_deep]) from exc
    except ValueError as exc:
        raise MalformedJson() from exc


@blp.post("/epcis/capture")
@staff_required(*EDITORS)
@blp.doc(requestBody={"required": True, "content": {"application/ld+json": JSON_BODY,
                                                   "application/json": JSON_BODY}})  # fmt: skip
@blp.response(201, CaptureResultSchema)
def capture_events() -> dict[str, Any]:
    """Capture an EPCIS 2.0 document, stored whole or not at all."""
    config = current_app.config
    document = read_document(config["EPCIS_MAX_DOCUMENT_BYTES"])
    result = capture(current_brand(), document, config["PUBLIC_BASE_URL"], actor=current_actor())
    return {
        "captured": len(result.events),
        "event_ids": [e.event_uri for e in result.events],
        "warnings": result.warnings,
    }


@blp.get("/epcis/events")
@staff_required()
@blp.arguments(EventsQuerySchema, location="query")
@blp.response(200, description="An EPCIS 2.0 EPCISQueryDocument")
def query_events(query: EventsQuery) -> dict[str, Any]:
    """A lot's journey (or all events) in a window, as an EPCISQueryDocument."""
    brand = current_brand()
    lot = service.find_lot(brand, query.lot_id) if query.lot_id else None
    return query_document(brand, lot, query.since, query.until)


@blp.get("/provenance/lots")
@staff_required()
@blp.response(200, LotSummarySchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_lots(pagination_parameters: Any) -> list[dict[str, Any]]:
    """The lots the brand's EPCIS events name, the latest event first."""
    p = pagination_parameters
    rows, p.item_count = service.list_lots(current_brand(), p.page, p.page_size)
    return rows


@blp.get("/provenance/lots/<path:lot_id>")
@staff_required()
@blp.response(200, LotJourneySchema)
def lot_journey(lot_id: str) -> dict[str, Any]:
    """A lot's journey (its id, a production lot's id or its class-level URI) as stories show it:
    steps with party, place, claims (verified or not) and carbon, and the carbon per unit."""
    return service.lot_journey(current_brand(), lot_id)


@blp.get("/story/<code>")
@blp.response(200, StorySchema)
def story(code: str) -> dict[str, Any]:
    """The provenance of the unit a code names (no auth; records no scan)."""
    return service.unit_story(code, prefers_english())
