"""Segments for the brand console: never an individual consumer, only published counts."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from accounts.auth import current_actor, current_brand, current_staff, staff_required
from accounts.models import Role
from core.db import utcnow
from profiles.inputs import DiscoveredQuery, SegmentInput
from profiles.segments import discovered, service
from profiles.segments.privacy import min_segment_size
from profiles.segments.schemas import (
    DiscoveredQuerySchema,
    DiscoveredSchema,
    SegmentCreateSchema,
    SegmentSchema,
)

blp = Blueprint("segments", __name__, url_prefix="/api/v1", description="Segments")
READERS = (Role.marketer, Role.analyst)


@blp.route("/segments")
class Segments(MethodView):
    @staff_required(*READERS)
    @blp.response(200, SegmentSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
        """The brand's segments with their published sizes and breakdowns."""
        p = pagination_parameters
        rows, p.item_count = service.list_segments(current_brand(), p.page, p.page_size)
        return rows

    @staff_required(*READERS)
    @blp.arguments(SegmentCreateSchema)
    @blp.response(201, SegmentSchema)
    def post(self, body: SegmentInput) -> dict[str, Any]:
        """Create a segment from a rule (owner, marketer, analyst)."""
        return service.create_segment(current_brand(), current_staff(), body.name, body.rule,
                                      actor=current_actor())  # fmt: skip


@blp.get("/segments/discovered")
@staff_required(*READERS)
@blp.arguments(DiscoveredQuerySchema, location="query")
@blp.response(200, DiscoveredSchema(many=True))
def discovered_segments(query: DiscoveredQuery) -> list[dict[str, Any]]:
    """Micro-segments found in this week's scans, fastest-growing first."""
    brand = current_brand()
    return discovered.discover(brand.id, min_segment_size(brand), utcnow())[: query.limit]


@blp.get("/segments/<segment_id>")
@staff_required(*READERS)
@blp.response(200, SegmentSchema)
def get_segment(segment_id: str) -> dict[str, Any]:
    """One segment: published size and breakdowns, computed now."""
    brand = current_brand()
    return service.show(brand, service.get_segment(brand, segment_id))
