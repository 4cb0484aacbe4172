"""The reports API behind the console's charts (any staff role may read reports)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import current_brand, staff_required
from console import reports
from console.reports import ReportQuery
from console.schemas import (
    CampaignReportSchema,
    OverviewSchema,
    ReportQuerySchema,
    ScanReportRowSchema,
)

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports")


@blp.get("/reports/scans")
@staff_required()
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ScanReportRowSchema(many=True))
def scan_report(query: ReportQuery) -> list[dict[str, Any]]:
    """Scans by day, province, city, product, verdict or hour (China time; default 30 days)."""
    return reports.scans(current_brand(), query)


@blp.get("/reports/campaigns/<campaign_id>")
@staff_required()
@blp.response(200, CampaignReportSchema)
def campaign_report(campaign_id: str) -> dict[str, Any]:
    """Spend by day, awards by tier and status, forecast to the end date, pace warnings."""
    return reports.campaign(current_brand(), campaign_id)


@blp.get("/reports/overview")
@staff_required()
@blp.response(200, OverviewSchema)
def overview() -> dict[str, Any]:
    """The dashboard's tiles: payouts by status, open fraud cases, live campaigns."""
    return reports.overview(current_brand())
