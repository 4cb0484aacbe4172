"""Request and response schemas of the consumer API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import InputSchema
from profiles.service import WechatLogin


class WechatLoginSchema(InputSchema):
    __model__ = WechatLogin
    brand = fields.String(required=True, validate=validate.Length(min=1, max=64))
    js_code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class ConsumerSummarySchema(Schema):
    id = fields.String()
    is_new = fields.Boolean()


class ConsumerTokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    consumer = fields.Nested(ConsumerSummarySchema)
