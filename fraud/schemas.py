"""Schemas of fraud cases (API.md "Fraud")."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from core.schemas import InputSchema
from fraud.models import CaseKind, CaseStatus


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case list."""

    status: str | None = None
    kind: str | None = None


class CaseQuerySchema(InputSchema):
    __model__ = CaseQuery
    status = fields.String(validate=validate.OneOf([s.value for s in CaseStatus]))
    kind = fields.String(validate=validate.OneOf([k.value for k in CaseKind]))


class SignalSchema(Schema):
    rule = fields.String()
    score = fields.Integer()
    evidence = fields.Dict()


class FraudCaseSchema(Schema):
    id = fields.String()
    status = fields.Function(lambda c: c.status.value)
    kind = fields.Function(lambda c: c.kind.value)
    subject = fields.String()
    score = fields.Integer()
    band = fields.String()
    signals = fields.List(fields.Nested(SignalSchema))
    award_ids = fields.List(fields.String())
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    decision = fields.String(allow_none=True)
    resolved_by = fields.Function(lambda c: str(c.resolved_by) if c.resolved_by else None)
    note = fields.String(allow_none=True)


class FraudCaseDetailSchema(FraudCaseSchema):
    evidence = fields.Method("_evidence")

    def _evidence(self, case: object) -> dict[str, object]:
        signals = getattr(case, "signals", [])
        return {"signals": len(signals), "items": [s.get("evidence", {}) for s in signals]}
