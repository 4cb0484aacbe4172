"""Input and output schemas of the fraud API."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from core.schemas import InputSchema
from fraud.models import CaseKind, CaseStatus, Decision
from fraud.settings import RulePatch


@dataclass(frozen=True)
class Resolution:
    """An operator's decision on a case."""

    decision: Decision
    note: str


@dataclass(frozen=True)
class AppealInput:
    """A shopper's appeal."""

    message: str


class Strict(Schema):
    class Meta:
        unknown = "raise"


class RuleSchema(Schema):
    key = fields.String()
    description = fields.String()
    enabled = fields.Boolean()
    weight = fields.Integer()
    params = fields.Dict()


class RulePatchSchema(InputSchema, Strict):
    __model__ = RulePatch
    enabled = fields.Boolean()
    weight = fields.Integer(validate=validate.Range(min=0, max=1000))
    params = fields.Dict(keys=fields.String(validate=validate.Length(max=40)))


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case list."""

    status: str | None = None
    kind: str | None = None


class CaseQuerySchema(InputSchema, Strict):
    __model__ = CaseQuery
    status = fields.String(validate=validate.OneOf([s.value for s in CaseStatus]))
    kind = fields.String(validate=validate.OneOf([k.value for k in CaseKind]))


class SignalSchema(Schema):
    rule = fields.String()
    score = fields.Float()
    evidence = fields.Dict()


class CaseSchema(Schema):
    id = fields.String()
    status = fields.String()
    kind = fields.String()
    subject = fields.String()
    score = fields.Float()
    band = fields.String()
    signals = fields.List(fields.Nested(SignalSchema))
    award_ids = fields.List(fields.String())
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    decision = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class AppealSchema(Schema):
    id = fields.String()
    award_id = fields.String()
    message = fields.String()
    created_at = fields.DateTime()


class CaseDetailSchema(CaseSchema):
    scans = fields.List(fields.Dict())
    consumers = fields.List(fields.String())
    devices = fields.List(fields.String())
    appeals = fields.List(fields.Nested(AppealSchema))
    appeal = fields.Nested(AppealSchema, allow_none=True)


class ResolveSchema(InputSchema, Strict):
    __model__ = Resolution
    decision = fields.Enum(Decision, required=True, by_value=True)
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BlockSchema(Schema):
    id = fields.String()
    kind = fields.String()
    subject = fields.String()
    case_id = fields.String(allow_none=True)
    reason = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class AppealRequestSchema(InputSchema, Strict):
    __model__ = AppealInput
    message = fields.String(required=True, validate=validate.Length(min=1, max=2000))
