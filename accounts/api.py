"""Staff login, the brand's settings and its staff users."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from accounts import service
from accounts.auth import client_ip, current_actor, current_brand, staff_required
from accounts.models import Role, StaffUser
from accounts.schemas import (
    BrandSchema,
    BrandUpdateSchema,
    StaffCreateSchema,
    StaffSchema,
    TokenRequestSchema,
    TokenResponseSchema,
)

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Staff and brands")


@blp.post("/auth/token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenResponseSchema)
def staff_token(body: service.Credentials) -> dict[str, Any]:
    """Log a staff user in with email and password."""
    staff, token = service.login(body.email, body.password, ip=client_ip())
    return {"access_token": token.access_token, "expires_in": token.expires_in, "staff": staff}


@blp.route("/brand")
class BrandView(MethodView):
    @staff_required()
    @blp.response(200, BrandSchema)
    def get(self) -> Any:
        """The staff user's brand, its settings and which credentials are set."""
        return current_brand()

    @staff_required(Role.owner)
    @blp.arguments(BrandUpdateSchema)
    @blp.response(200, BrandSchema)
    def patch(self, body: service.BrandUpdate) -> Any:
        """Change the brand's name, settings or WeChat credentials (owner)."""
        return service.update_brand(current_brand(), body, actor=current_actor())


@blp.route("/staff")
class StaffCollection(MethodView):
    @staff_required(Role.owner)
    @blp.response(200, StaffSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[StaffUser]:
        """The brand's staff users (owner)."""
        rows, total = service.list_staff(
            current_brand(), pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return rows

    @staff_required(Role.owner)
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffSchema)
    def post(self, body: service.NewStaff) -> StaffUser:
        """Add a staff user with a role (owner)."""
        return service.create_staff(
            current_brand(), body.email, body.password, body.role, actor=current_actor()
        )


@blp.post("/staff/<staff_id>/deactivate")
@staff_required(Role.owner)
@blp.response(200, StaffSchema)
def deactivate_staff(staff_id: str) -> StaffUser:
    """Disable a staff user; their tokens stop working at once (owner)."""
    staff = service.get_staff_for_brand(staff_id, current_brand())
    return service.deactivate_staff(staff, actor=current_actor())
