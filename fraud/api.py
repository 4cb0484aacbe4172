"""Fraud cases for the brand console: ``/api/v1/fraud/cases``."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import current_brand, staff_required
from accounts.models import Role
from fraud import service
from fraud.models import FraudCase
from fraud.schemas import CaseQuery, CaseQuerySchema, FraudCaseDetailSchema, FraudCaseSchema

blp = Blueprint("fraud", __name__, url_prefix="/api/v1", description="Fraud cases")
READERS = (Role.operator, Role.analyst)


@blp.get("/fraud/cases")
@staff_required(*READERS)
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, FraudCaseSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_cases(query: CaseQuery, pagination_parameters: Any) -> list[FraudCase]:
    """The brand's fraud cases, newest first (owner, operator, analyst)."""
    p = pagination_parameters
    rows, p.item_count = service.list_cases(
        current_brand(), p.page, p.page_size, query.status, query.kind
    )
    return rows


@blp.get("/fraud/cases/<case_id>")
@staff_required(*READERS)
@blp.response(200, FraudCaseDetailSchema)
def get_case(case_id: str) -> FraudCase:
    """One fraud case with its evidence."""
    return service.get_case(current_brand(), case_id)
