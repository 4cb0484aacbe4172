"""Request and response schemas of the scan API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from anticounterfeit.scans.record import Location
from campaigns.schemas import RewardSchema
from core.schemas import InputSchema
from engagement.inputs import ScanRequest


class LocationSchema(InputSchema):
    __model__ = Location
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lng = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(validate=validate.Range(0, 100_000))


class ScanRequestSchema(InputSchema):
    __model__ = ScanRequest
    code = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    pin = fields.String(validate=validate.Regexp(r"^\s*[0-9]{4,12}\s*$", error="A PIN is digits."))
    location = fields.Nested(LocationSchema)
    device_id = fields.String(validate=validate.Length(min=1, max=64))
    scene = fields.Integer(validate=validate.Range(0, 1_000_000))


class CodeInfoSchema(Schema):
    serial = fields.String()
    digital_link = fields.String()


class BrandInfoSchema(Schema):
    slug = fields.String()
    name = fields.String()


class ProductInfoSchema(Schema):
    id = fields.String()
    name = fields.String()
    gtin = fields.String()


class LotInfoSchema(Schema):
    lot = fields.String()
    production_date = fields.String()
    expiry_date = fields.String(allow_none=True)


class HistorySchema(Schema):
    scan_count = fields.Integer()
    distinct_consumers = fields.Integer()
    first_scanned_at = fields.String(allow_none=True)
    first_scan_region = fields.String(allow_none=True)


class ScanResponseSchema(Schema):
    scan_id = fields.String()
    verdict = fields.String()
    message = fields.String()
    pin_verified = fields.Boolean(allow_none=True)
    code = fields.Nested(CodeInfoSchema, allow_none=True)
    product = fields.Nested(ProductInfoSchema, allow_none=True)
    batch = fields.Nested(LotInfoSchema, allow_none=True)
    history = fields.Nested(HistorySchema, allow_none=True)
    story_url = fields.String(allow_none=True)
    rewards = fields.List(fields.Nested(RewardSchema))
    brand = fields.Nested(BrandInfoSchema, allow_none=True)


class MeSchema(Schema):
    id = fields.String()
    points_balance = fields.Integer()
    scan_count = fields.Integer()
    red_packet_total_fen = fields.Integer()
