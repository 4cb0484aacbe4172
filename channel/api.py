"""Channel API: aggregation (console/line), partners and invites, clerks' channel scans, reports."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from accounts.auth import (
    consumer_required,
    current_actor,
    current_brand,
    current_consumer,
    staff_required,
)
from accounts.models import Role
from channel import aggregation, partners, reports, scans
from channel.inputs import (
    ChannelScanInput,
    FunnelQuery,
    Membership,
    NewAggregation,
    NewPartner,
    PartnerQuery,
)
from channel.models import Partner, PartnerClerk, PartnerInvite
from channel.schemas import (
    AggregationCreateSchema,
    ChannelScanCreateSchema,
    ChannelScanSchema,
    FunnelQuerySchema,
    FunnelRowSchema,
    GapSchema,
    ImportedSchema,
    InviteSchema,
    MembershipCreateSchema,
    MembershipSchema,
    PackedSchema,
    PartnerCreateSchema,
    PartnerQuerySchema,
    PartnerSchema,
    StockSchema,
    UnpackedSchema,
)
from core.errors import InvalidInput

blp = Blueprint("channel", __name__, url_prefix="/api/v1", description="Channel")
OPERATORS = (Role.operator,)


@blp.post("/aggregations")
@staff_required(*OPERATORS)
@blp.arguments(AggregationCreateSchema)
@blp.response(201, PackedSchema)
def pack(body: NewAggregation) -> aggregation.Packed:
    """Pack units into a case, or cases into a pallet (a child already packed: 409)."""
    return aggregation.pack(current_brand(), body.parent, body.children)


@blp.post("/aggregations/import")
@staff_required(*OPERATORS)
@blp.response(201, ImportedSchema)
def import_aggregations() -> dict[str, int]:
    """Pack from the line's CSV file (``parent,child`` rows, text/csv body); all or nothing."""
    try:
        data = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The file is not UTF-8 text.", field="csv") from exc
    return aggregation.import_csv(current_brand(), data)


@blp.delete("/aggregations/<path:parent_code>")
@staff_required(*OPERATORS)
@blp.response(200, UnpackedSchema)
def unpack(parent_code: str) -> aggregation.Packed:
    """Unpack a case or pallet (the code, or its URL percent-encoded)."""
    return aggregation.unpack(current_brand(), parent_code)


@blp.route("/partners")
class Partners(MethodView):
    @staff_required()
    @blp.arguments(PartnerQuerySchema, location="query")
    @blp.response(200, PartnerSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query: PartnerQuery, pagination_parameters: Any) -> list[Partner]:
        """The brand's warehouses, dealers and stores."""
        p = pagination_parameters
        rows, p.item_count = partners.list_partners(
            current_brand(), p.page, p.page_size, query.kind
        )
        return rows

    @staff_required(*OPERATORS)
    @blp.arguments(PartnerCreateSchema)
    @blp.response(201, PartnerSchema)
    def post(self, body: NewPartner) -> Partner:
        """Register a warehouse, dealer or store with its territory."""
        return partners.create_partner(current_brand(), body, actor=current_actor())


@blp.get("/partners/<partner_id>")
@staff_required()
@blp.response(200, PartnerSchema)
def get_partner(partner_id: str) -> Partner:
    """One partner."""
    return partners.get_partner(current_brand(), partner_id)


@blp.post("/partners/<partner_id>/invites")
@staff_required(*OPERATORS)
@blp.response(201, InviteSchema)
def create_invite(partner_id: str) -> PartnerInvite:
    """A one-time invite code (valid 7 days) for a clerk of the partner."""
    return partners.create_invite(current_brand(), partner_id, actor=current_actor())


@blp.get("/partners/<partner_id>/invites")
@staff_required()
@blp.response(200, InviteSchema(many=True))
def list_invites(partner_id: str) -> list[PartnerInvite]:
    """The partner's invites, newest first, each with its status, link and QR code."""
    return partners.list_invites(current_brand(), partner_id)


@blp.post("/partners/<partner_id>/invites/<invite_id>/revoke")
@staff_required(*OPERATORS)
@blp.response(200, InviteSchema)
def revoke_invite(partner_id: str, invite_id: str) -> PartnerInvite:
    """End an unused invite now (409 ``invite_used`` once a clerk joined with it)."""
    return partners.revoke_invite(current_brand(), partner_id, invite_id)


@blp.get("/partners/<partner_id>/stock")
@staff_required()
@blp.response(200, StockSchema)
def partner_stock(partner_id: str) -> dict[str, Any]:
    """Units the partner received and has not sold or shipped on."""
    return reports.stock(current_brand(), partner_id)


@blp.post("/me/partner-memberships")
@consumer_required
@blp.arguments(MembershipCreateSchema)
@blp.response(201, MembershipSchema)
def join_partner(body: Membership) -> PartnerClerk:
    """Become a partner's clerk with an invite code."""
    consumer = current_consumer()
    assert consumer is not None
    return partners.join(consumer.brand_id, consumer.consumer_id, body.invite_code)


@blp.post("/channel/scans")
@consumer_required
@blp.arguments(ChannelScanCreateSchema)
@blp.response(201, ChannelScanSchema)
@blp.alt_response(200, schema=ChannelScanSchema, description="a retried request_id")
def channel_scan(body: ChannelScanInput) -> Response:
    """A clerk's scan of a unit, case or pallet: ship, receive, sell, return or recycle."""
    consumer = current_consumer()
    assert consumer is not None
    outcome = scans.channel_scan(
        consumer.brand_id, consumer.consumer_id, body,
        rate_limit=current_app.config["RATELIMIT_ENABLED"],
        precise_location=consumer.precise_location,
    )  # fmt: skip
    response = jsonify(scans.payload(outcome))
    response.status_code = 201 if outcome.created else 200
    return response


@blp.get("/reports/channel-funnel")
@staff_required()
@blp.arguments(FunnelQuerySchema, location="query")
@blp.response(200, FunnelRowSchema(many=True))
def channel_funnel(query: FunnelQuery) -> list[dict[str, Any]]:
    """Produced → shipped → received → sold → scanned by a consumer, by partner or province."""
    return reports.funnel(current_brand(), query)


@blp.get("/reports/channel-gaps")
@staff_required()
@blp.response(200, GapSchema(many=True))
def channel_gaps() -> list[dict[str, Any]]:
    """Dealers whose goods reach shoppers without being scanned further in the channel."""
    return reports.channel_gaps(current_brand())
