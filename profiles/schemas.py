"""Request and response schemas of the consumer API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.schemas import InputSchema
from profiles import inputs
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


class StrictBool(fields.Boolean):
    """JSON ``true`` or ``false`` only (not 1, "yes" or "true")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ConsentsUpdateSchema(InputSchema):
    __model__ = inputs.ConsentsChange
    profiling = StrictBool()
    marketing = StrictBool()
    precise_location = StrictBool()
    notice_version = fields.String(validate=validate.Length(min=1, max=32))

    @validates_schema
    def _one_purpose(self, data: dict[str, Any], **_: Any) -> None:
        if not {"profiling", "marketing", "precise_location"} & data.keys():
            raise ValidationError("Give at least one of profiling, marketing, precise_location.")


class ConsentHistorySchema(Schema):
    purpose = fields.String()
    granted = fields.Boolean()
    notice_version = fields.String()
    at = fields.DateTime()


class ConsentsSchema(Schema):
    profiling = fields.Boolean()
    marketing = fields.Boolean()
    precise_location = fields.Boolean()
    notice_version = fields.String(allow_none=True)
    current_notice_version = fields.String()
    updated_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(ConsentHistorySchema))


class NoticeSchema(Schema):
    version = fields.String()
    published_at = fields.String()
    lang = fields.String()
    text = fields.String()
    purposes = fields.List(fields.String())
    versions = fields.List(fields.String())


_TAG = fields.String(validate=validate.Length(min=1, max=32))


class FeedbackCreateSchema(InputSchema):
    __model__ = inputs.RatingInput
    scan_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    tags = fields.List(_TAG, validate=validate.Length(max=10))
    comment = fields.String(allow_none=True, validate=validate.Length(max=1000))


class FeedbackSchema(Schema):
    id = fields.String()
    scan_id = fields.String()
    product_id = fields.String()
    rating = fields.Integer()
    tags = fields.List(fields.String())
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime()


class WishSchema(InputSchema):
    __model__ = inputs.WishInput
    product_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PreferencesUpdateSchema(InputSchema):
    __model__ = inputs.PreferencesInput
    interests = fields.List(
        fields.String(validate=validate.Length(min=1, max=32)), validate=validate.Length(max=20)
    )
    wishes = fields.List(fields.Nested(WishSchema), validate=validate.Length(max=10))


class WishOutSchema(Schema):
    product_id = fields.String(allow_none=True)
    text = fields.String()


class PreferencesSchema(Schema):
    interests = fields.List(fields.String())
    wishes = fields.List(fields.Nested(WishOutSchema))
    updated_at = fields.DateTime(allow_none=True)


class ErasureSchema(Schema):
    id = fields.String()
    status = fields.String()
    erased_at = fields.DateTime()
