"""Input and output schemas of the reports API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from console.reports import GROUPS, ReportQuery
from core.schemas import InputSchema


class ReportQuerySchema(InputSchema):
    __model__ = ReportQuery

    class Meta:
        unknown = "raise"

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    group_by = fields.String(load_default="day", validate=validate.OneOf(GROUPS))
    province = fields.String(validate=validate.Length(min=1, max=50))
    with_consumers = fields.Boolean(load_default=True)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("from_"), data.get("to")
        if start and end and start > end:
            raise ValidationError("from is after to", "from")
        if start and end and (end - start).days > 3660:
            raise ValidationError("at most ten years", "from")


class ScanReportRowSchema(Schema):
    key = fields.String()
    label = fields.String(allow_none=True)
    scans = fields.Integer()
    consumers = fields.Integer(allow_none=True)
    authentic = fields.Integer()
    suspect_copy = fields.Integer()
    counterfeit = fields.Integer()


class CampaignReportSchema(Schema):
    campaign_id = fields.String()
    status = fields.String()
    budget = fields.Integer()
    spent = fields.Integer()
    unit = fields.String()
    spend_by_day = fields.List(fields.Dict())
    awards = fields.List(fields.Dict())
    pace = fields.Dict()
    forecast = fields.Dict()
    warnings = fields.List(fields.Dict())


class OverviewSchema(Schema):
    payouts = fields.List(fields.Dict())
    open_fraud_cases = fields.Integer()
    campaigns = fields.List(fields.Dict())
