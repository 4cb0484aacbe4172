"""Segment request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import InputSchema
from profiles.inputs import DiscoveredQuery, SegmentInput


class SegmentCreateSchema(InputSchema):
    __model__ = SegmentInput
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    rule = fields.Dict(required=True)


class CellSchema(Schema):
    key = fields.String(allow_none=True)
    name = fields.String()
    size = fields.Integer(allow_none=True)
    suppressed = fields.Boolean()


class BreakdownSchema(Schema):
    province = fields.List(fields.Nested(CellSchema))
    product = fields.List(fields.Nested(CellSchema))
    lifecycle = fields.List(fields.Nested(CellSchema))
    rating = fields.List(fields.Nested(CellSchema))
    interest = fields.List(fields.Nested(CellSchema))


class SegmentSchema(Schema):
    id = fields.String()
    name = fields.String()
    rule = fields.Dict()
    size = fields.Integer(allow_none=True)
    suppressed = fields.Boolean()
    breakdown = fields.Nested(BreakdownSchema)
    computed_at = fields.DateTime()
    created_at = fields.DateTime()
    members_at = fields.DateTime(allow_none=True)


class DiscoveredSchema(Schema):
    kind = fields.String()
    dimensions = fields.Dict()
    this_week = fields.Integer()
    last_week = fields.Integer(allow_none=True)
    growth = fields.Float(allow_none=True)
    rule = fields.Dict()


class DiscoveredQuerySchema(InputSchema):
    __model__ = DiscoveredQuery
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
