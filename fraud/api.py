"""Fraud rules, cases, blocks (brand console) and the shopper's appeal."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import (
    consumer_required,
    current_actor,
    current_brand,
    current_consumer,
    current_staff,
    staff_required,
)
from accounts.models import Role
from fraud import appeals, cases, settings
from fraud.schemas import (
    AppealInput,
    AppealRequestSchema,
    AppealSchema,
    BlockSchema,
    CaseDetailSchema,
    CaseQuery,
    CaseQuerySchema,
    CaseSchema,
    Resolution,
    ResolveSchema,
    RulePatchSchema,
    RuleSchema,
)
from fraud.settings import RulePatch, RuleView

blp = Blueprint("fraud", __name__, url_prefix="/api/v1", description="Fraud review")
OPERATORS = (Role.operator,)
#: Who may read fraud review (API.md roles: operators handle it, analysts read everything).
READERS = (Role.operator, Role.analyst)


@blp.get("/fraud/rules")
@staff_required()
@blp.response(200, RuleSchema(many=True))
def list_rules() -> list[RuleView]:
    """Every risk rule with the brand's setting (see the README for what each catches)."""
    return settings.list_rules(current_brand())


@blp.patch("/fraud/rules/<key>")
@staff_required(Role.owner)
@blp.arguments(RulePatchSchema)
@blp.response(200, RuleSchema)
def update_rule(patch: RulePatch, key: str) -> RuleView:
    """Tune a rule: enable or disable it, its weight, its parameters (owner)."""
    return settings.update_rule(current_brand(), key, patch, actor=current_actor())


@blp.get("/fraud/cases")
@staff_required(*READERS)
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_cases(query: CaseQuery, pagination_parameters: Any) -> list[dict[str, Any]]:
    """The brand's fraud cases, newest first."""
    p = pagination_parameters
    rows, p.item_count = cases.list_cases(
        current_brand(), query.status, query.kind, p.page, p.page_size
    )
    return [cases.shown(c) for c in rows]


@blp.get("/fraud/cases/<case_id>")
@staff_required(*READERS)
@blp.response(200, CaseDetailSchema)
def get_case(case_id: str) -> dict[str, Any]:
    """One case with its evidence: scans, linked consumers and devices, the appeal."""
    return cases.shown_detail(cases.detail(current_brand(), case_id))


@blp.post("/fraud/cases/<case_id>/resolve")
@staff_required(*OPERATORS)
@blp.arguments(ResolveSchema)
@blp.response(200, CaseSchema)
def resolve_case(body: Resolution, case_id: str) -> dict[str, Any]:
    """Release, reject or block (409 already_resolved when decided before)."""
    case = cases.resolve(
        current_brand(), current_staff(), case_id, body.decision, body.note,
        actor=current_actor(),
    )  # fmt: skip
    return cases.shown(case)


@blp.get("/blocks")
@staff_required(*READERS)
@blp.response(200, BlockSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_blocks(pagination_parameters: Any) -> list[dict[str, Any]]:
    """Subjects that get no rewards."""
    p = pagination_parameters
    rows, p.item_count = cases.list_blocks(current_brand(), p.page, p.page_size)
    return rows


@blp.delete("/blocks/<block_id>")
@staff_required(*OPERATORS)
@blp.response(204)
def delete_block(block_id: str) -> None:
    """Lift a block."""
    cases.unblock(current_brand(), block_id, actor=current_actor())


@blp.post("/me/awards/<award_id>/appeal")
@consumer_required
@blp.arguments(AppealRequestSchema)
@blp.response(201, AppealSchema)
def appeal_award(body: AppealInput, award_id: str) -> Any:
    """Appeal a reward under review (or rejected after review), once."""
    consumer = current_consumer()
    assert consumer is not None
    return appeals.appeal(consumer.consumer_id, consumer.brand_id, award_id, body.message)
