"""Campaigns, awards and the reward catalogue (brand console)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from accounts.auth import current_actor, current_brand, current_staff, staff_required
from accounts.models import Role
from campaigns import awards, catalogue, inputs, service
from campaigns.models import Award, Campaign, CampaignVersion, CatalogueItem, Draw
from campaigns.schemas import (
    AwardQuerySchema,
    AwardSchema,
    CampaignCreateSchema,
    CampaignListQuerySchema,
    CampaignPatchSchema,
    CampaignSchema,
    CancelSchema,
    CatalogueItemCreateSchema,
    CatalogueItemPatchSchema,
    CatalogueItemSchema,
    DrawQuerySchema,
    DrawSchema,
    SimulationRequestSchema,
    SimulationSchema,
    VersionSchema,
)

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaigns and awards")
MARKETERS = (Role.marketer,)


@blp.route("/campaigns")
class Campaigns(MethodView):
    @staff_required()
    @blp.arguments(CampaignListQuerySchema, location="query")
    @blp.response(200, CampaignSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, query: inputs.CampaignQuery, pagination_parameters: Any) -> list[Campaign]:
        """The brand's campaigns, newest first."""
        p = pagination_parameters
        rows, p.item_count = service.list_campaigns(
            current_brand(), p.page, p.page_size, query.status
        )
        return rows

    @staff_required(*MARKETERS)
    @blp.arguments(CampaignCreateSchema)
    @blp.response(201, CampaignSchema)
    def post(self, body: inputs.CampaignInput) -> Campaign:
        """Create a draft campaign."""
        return service.create_campaign(
            current_brand(), body, current_staff(), actor=current_actor()
        )


@blp.route("/campaigns/<campaign_id>")
class CampaignItem(MethodView):
    @staff_required()
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: str) -> Campaign:
        """One campaign with what it has spent."""
        return service.get_campaign(current_brand(), campaign_id)

    @staff_required(*MARKETERS)
    @blp.arguments(CampaignPatchSchema)
    @blp.response(200, CampaignSchema)
    def patch(self, body: inputs.CampaignInput, campaign_id: str) -> Campaign:
        """Change a campaign (a new version once it has been live)."""
        return service.update_campaign(
            current_brand(), campaign_id, body, current_staff(), actor=current_actor()
        )


def _transition_view(action: str) -> None:
    @staff_required(*MARKETERS)
    @blp.response(200, CampaignSchema)
    def view(campaign_id: str) -> Campaign:
        return service.transition(current_brand(), campaign_id, action, actor=current_actor())

    view.__name__ = f"{action}_campaign"
    view.__doc__ = f"{action.capitalize()} a campaign (409 invalid_transition if not allowed)."
    blp.post(f"/campaigns/<campaign_id>/{action}")(view)


for _action in service.TRANSITIONS:
    _transition_view(_action)


@blp.post("/campaigns/<campaign_id>/simulate")
@staff_required()
@blp.arguments(SimulationRequestSchema)
@blp.response(200, SimulationSchema)
def simulate_campaign(body: inputs.SimulationRequest, campaign_id: str) -> dict[str, Any]:
    """Expected spend, winners and budget exhaustion day for a number of scans per day."""
    return service.simulate(current_brand(), campaign_id, body.scans_per_day, body.start_date)


@blp.get("/campaigns/<campaign_id>/versions")
@staff_required()
@blp.response(200, VersionSchema(many=True))
def campaign_versions(campaign_id: str) -> list[CampaignVersion]:
    """Every version of the campaign's terms, oldest first."""
    return service.versions(current_brand(), campaign_id)


@blp.get("/campaigns/<campaign_id>/draws")
@staff_required()
@blp.arguments(DrawQuerySchema, location="query")
@blp.response(200, DrawSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def campaign_draws(
    query: inputs.DrawQuery, campaign_id: str, pagination_parameters: Any
) -> list[Draw]:
    """The campaign's draws, newest first: why each scan won or lost."""
    p = pagination_parameters
    rows, p.item_count = service.list_draws(
        current_brand(), campaign_id, p.page, p.page_size, query.outcome
    )
    return rows


@blp.get("/awards")
@staff_required()
@blp.arguments(AwardQuerySchema, location="query")
@blp.response(200, AwardSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_awards(query: inputs.AwardQuery, pagination_parameters: Any) -> list[Award]:
    """Awards, newest first, with their payout state."""
    p = pagination_parameters
    rows, p.item_count = service.list_awards(
        current_brand(), p.page, p.page_size, campaign_id=query.campaign_id, status=query.status
    )
    return rows


@blp.post("/awards/<award_id>/cancel")
@staff_required(Role.marketer, Role.operator)
@blp.arguments(CancelSchema)
@blp.response(200, AwardSchema)
def cancel_award(body: inputs.Cancellation, award_id: str) -> Award:
    """Cancel an unpaid red packet or unspent points; the amount returns to the budget."""
    return awards.cancel(current_brand(), award_id, body.reason, actor=current_actor())


@blp.route("/catalogue-items")
class CatalogueItems(MethodView):
    @staff_required()
    @blp.response(200, CatalogueItemSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[CatalogueItem]:
        """The brand's reward catalogue."""
        p = pagination_parameters
        rows, p.item_count = catalogue.list_items(current_brand().id, p.page, p.page_size)
        return rows

    @staff_required(*MARKETERS)
    @blp.arguments(CatalogueItemCreateSchema)
    @blp.response(201, CatalogueItemSchema)
    def post(self, body: inputs.NewCatalogueItem) -> CatalogueItem:
        """Add an item that consumers can redeem points for."""
        return catalogue.create_item(current_brand(), body)


@blp.route("/catalogue-items/<item_id>")
class CatalogueItemView(MethodView):
    @staff_required()
    @blp.response(200, CatalogueItemSchema)
    def get(self, item_id: str) -> CatalogueItem:
        """One catalogue item."""
        return catalogue.get_item(current_brand().id, item_id)

    @staff_required(*MARKETERS)
    @blp.arguments(CatalogueItemPatchSchema)
    @blp.response(200, CatalogueItemSchema)
    def patch(self, body: inputs.CatalogueItemPatch, item_id: str) -> CatalogueItem:
        """Change an item (price, stock, active)."""
        return catalogue.update_item(current_brand(), item_id, body)
