"""Webhooks (owner): register, list, change, delete, ping; deliveries and redelivery."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import current_brand, current_staff, staff_required
from accounts.models import Role
from exports.webhooks import service
from exports.webhooks.events import EVENTS
from exports.webhooks.models import Webhook, WebhookDelivery
from exports.webhooks.schemas import (
    DeliveryDetailSchema,
    DeliveryQuerySchema,
    DeliverySchema,
    EventSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookPatchSchema,
    WebhookSchema,
)
from exports.webhooks.service import DeliveryQuery, NewWebhook, WebhookPatch

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhooks")
OWNER = Role.owner


@blp.get("/webhooks/events")
@staff_required(OWNER)
@blp.response(200, EventSchema(many=True))
def list_events() -> list[dict[str, str]]:
    """The events a webhook may subscribe to (docs/webhooks.md has each payload)."""
    return [{"event": name, "description": text} for name, text in sorted(EVENTS.items())]


@blp.post("/webhooks")
@staff_required(OWNER)
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookCreatedSchema)
def create_webhook(body: NewWebhook) -> Webhook:
    """Register a webhook; the answer holds its signing `secret` (shown only here).
    422 `webhook_url_forbidden` for a URL that is not http(s) or not on a public address."""
    return service.create(current_brand(), current_staff(), body)


@blp.get("/webhooks")
@staff_required(OWNER)
@blp.response(200, WebhookSchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_webhooks(pagination_parameters: Any) -> list[Webhook]:
    """The brand's webhooks."""
    p = pagination_parameters
    rows, p.item_count = service.list_webhooks(current_brand(), p.page, p.page_size)
    return rows


@blp.get("/webhooks/<webhook_id>")
@staff_required(OWNER)
@blp.response(200, WebhookSchema)
def get_webhook(webhook_id: str) -> Webhook:
    """One webhook."""
    return service.get(current_brand(), webhook_id)


@blp.patch("/webhooks/<webhook_id>")
@staff_required(OWNER)
@blp.arguments(WebhookPatchSchema)
@blp.response(200, WebhookSchema)
def update_webhook(patch: WebhookPatch, webhook_id: str) -> Webhook:
    """Change the URL or events, or disable (`active: false`, cancels pending deliveries)."""
    return service.update_webhook(current_brand(), webhook_id, patch)


@blp.delete("/webhooks/<webhook_id>")
@staff_required(OWNER)
@blp.response(204)
def delete_webhook(webhook_id: str) -> None:
    """Remove a webhook and its delivery history."""
    service.delete(current_brand(), webhook_id)


@blp.post("/webhooks/<webhook_id>/ping")
@staff_required(OWNER)
@blp.response(202, DeliverySchema)
def ping_webhook(webhook_id: str) -> WebhookDelivery:
    """Send a `webhook.ping` delivery to this webhook now (to test the receiver)."""
    return service.ping(current_brand(), webhook_id)


@blp.get("/webhooks/<webhook_id>/deliveries")
@staff_required(OWNER)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliverySchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_deliveries(query: DeliveryQuery, pagination_parameters: Any,
                    webhook_id: str) -> list[WebhookDelivery]:  # fmt: skip
    """The webhook's deliveries, newest first."""
    p = pagination_parameters
    rows, p.item_count = service.list_deliveries(current_brand(), webhook_id, query, p.page,
                                                 p.page_size)  # fmt: skip
    return rows


@blp.get("/webhooks/<webhook_id>/deliveries/<delivery_id>")
@staff_required(OWNER)
@blp.response(200, DeliveryDetailSchema)
def get_delivery(webhook_id: str, delivery_id: str) -> dict[str, Any]:
    """One delivery with its body and every attempt (status, duration, error)."""
    row, attempts = service.get_delivery(current_brand(), webhook_id, delivery_id)
    shown = {name: getattr(row, name) for name in DeliverySchema().fields}
    return {**shown, "body": row.body, "attempt_log": attempts}


@blp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@staff_required(OWNER)
@blp.response(202, DeliverySchema)
def redeliver(webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, under the same `X-Delivery-Id`, with a new day of retries."""
    return service.redeliver(current_brand(), webhook_id, delivery_id)
