"""Input and output schemas of the webhooks API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas import InputSchema
from exports.webhooks.events import EVENTS
from exports.webhooks.models import DeliveryStatus
from exports.webhooks.service import DeliveryQuery, NewWebhook, WebhookPatch

EVENT_NAMES = sorted(EVENTS)
_URL = validate.Length(min=1, max=2048)


class Strict(Schema):
    class Meta:
        unknown = "raise"


class WebhookCreateSchema(InputSchema, Strict):
    __model__ = NewWebhook
    url = fields.String(required=True, validate=_URL,
                        metadata={"description": "http(s) URL on a public address"})  # fmt: skip
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_NAMES)))  # fmt: skip
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookPatchSchema(InputSchema, Strict):
    __model__ = WebhookPatch
    url = fields.String(validate=_URL)
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)),
                         validate=validate.Length(min=1, max=len(EVENT_NAMES)))  # fmt: skip
    active = fields.Boolean()
    description = fields.String(validate=validate.Length(max=200))


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    description = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "Signs deliveries; shown only once, here."})


class EventSchema(Schema):
    event = fields.String()
    description = fields.String()


class DeliveryQuerySchema(InputSchema, Strict):
    __model__ = DeliveryQuery
    status = fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))
    event = fields.String(validate=validate.OneOf(EVENT_NAMES))


class DeliverySchema(Schema):
    id = fields.String(metadata={"description": "The X-Delivery-Id of every attempt"})
    webhook_id = fields.String()
    event = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    request_id = fields.String(allow_none=True)


class AttemptSchema(Schema):
    number = fields.Integer()
    at = fields.DateTime()
    address = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    error = fields.String(allow_none=True)
    response = fields.String(allow_none=True)


class DeliveryDetailSchema(DeliverySchema):
    body = fields.String(metadata={"description": "The exact JSON text sent (and signed)"})
    attempt_log = fields.List(fields.Nested(AttemptSchema))
