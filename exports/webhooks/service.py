"""Registering, changing and removing webhooks; listing and redelivering their deliveries."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete as sa_delete
from sqlalchemy import select, update

from accounts.models import Brand, StaffUser
from core.db import db, utcnow
from core.queries import get_for_brand, page, parse_id
from core.schemas import Patch
from exports.webhooks import urls
from exports.webhooks.delivery import allow_loopback
from exports.webhooks.errors import (
    DeliveryNotFound,
    UnknownEvent,
    WebhookDisabled,
    WebhookNotFound,
)
from exports.webhooks.events import EVENTS, QUEUE, Occurrence, delivery_row, queue_rows
from exports.webhooks.jobs import deliver
from exports.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from workers.job import enqueue_after_commit


@dataclass(frozen=True)
class NewWebhook:
    """What an owner registers."""

    url: str
    events: list[str]
    description: str = ""


@dataclass(frozen=True)
class WebhookPatch(Patch):
    """A change to a webhook (only the fields sent)."""

    url: str | None = None
    events: list[str] | None = None
    active: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class DeliveryQuery:
    """Filters of the delivery list."""

    status: str | None = None
    event: str | None = None


def new_secret() -> str:
    """A signing secret: 256 random bits."""
    return "whsec_" + secrets.token_urlsafe(32)


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise UnknownEvent(f"Unknown events: {', '.join(unknown)}.",
                           errors={"events": [f"unknown: {', '.join(unknown)}"]})  # fmt: skip
    return sorted(set(events))


def _checked_url(url: str) -> str:
    urls.check(url, allow_loopback=allow_loopback())
    return url.strip()


def create(brand: Brand, staff: StaffUser, new: NewWebhook) -> Webhook:
    """Register a webhook; its secret is readable only in this call's result."""
    hook = Webhook(brand_id=brand.id, url=_checked_url(new.url),
                   events=_checked_events(new.events), secret=new_secret(),
                   description=new.description, created_by=staff.id, active=True)  # fmt: skip
    db.session.add(hook)
    db.session.flush()
    return hook


def list_webhooks(brand: Brand, number: int, size: int) -> tuple[list[Webhook], int]:
    """The brand's webhooks, oldest first."""
    query = select(Webhook).where(Webhook.brand_id == brand.id).order_by(Webhook.created_at)
    return page(query, number, size)


def get(brand: Brand, webhook_id: str) -> Webhook:
    """One of the brand's webhooks (another brand's is a 404)."""
    return get_for_brand(Webhook, webhook_id, brand.id, WebhookNotFound)


def update_webhook(brand: Brand, webhook_id: str, patch: WebhookPatch) -> Webhook:
    """Change the URL, events, description, or disable/enable; disabling cancels what is due."""
    hook = get(brand, webhook_id)
    if patch.has("url") and patch.url is not None:
        hook.url = _checked_url(patch.url)
    if patch.has("events") and patch.events is not None:
        hook.events = _checked_events(patch.events)
    if patch.has("description") and patch.description is not None:
        hook.description = patch.description
    if patch.has("active") and patch.active is not None and patch.active != hook.active:
        hook.active = patch.active
        if not patch.active:
            _cancel_pending(hook)
    hook.updated_at = utcnow()
    db.session.flush()
    return hook


def _cancel_pending(hook: Webhook) -> None:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id,
               WebhookDelivery.status == DeliveryStatus.pending)
        .values(status=DeliveryStatus.cancelled, next_attempt_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def delete(brand: Brand, webhook_id: str) -> None:
    """Remove a webhook and its delivery history."""
    hook = get(brand, webhook_id)
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == hook.id)
    db.session.execute(sa_delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
                       .execution_options(synchronize_session=False))  # fmt: skip
    db.session.execute(sa_delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                       .execution_options(synchronize_session=False))  # fmt: skip
    db.session.delete(hook)
    db.session.flush()


def ping(brand: Brand, webhook_id: str) -> WebhookDelivery:
    """Queue a ``webhook.ping`` to this webhook alone (whatever events it subscribes to)."""
    hook = get(brand, webhook_id)
    occurrence = Occurrence("webhook.ping", {"webhook_id": hook.id, "at": utcnow()},
                            f"ping:{uuid.uuid4()}")  # fmt: skip
    if not hook.active:
        raise WebhookDisabled()
    (delivery_id,) = queue_rows([delivery_row(hook, occurrence, utcnow())])
    return _delivery(hook, str(delivery_id))


def list_deliveries(brand: Brand, webhook_id: str, query: DeliveryQuery, number: int,
                    size: int) -> tuple[list[WebhookDelivery], int]:  # fmt: skip
    """The webhook's deliveries, newest first."""
    hook = get(brand, webhook_id)
    rows = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if query.status:
        rows = rows.where(WebhookDelivery.status == query.status)
    if query.event:
        rows = rows.where(WebhookDelivery.event == query.event)
    order = (WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return page(rows.order_by(*order), number, size)


def _delivery(hook: Webhook, delivery_id: str) -> WebhookDelivery:
    row = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == parse_id(delivery_id, DeliveryNotFound),
        WebhookDelivery.webhook_id == hook.id))  # fmt: skip
    if row is None:
        raise DeliveryNotFound()
    return row


def get_delivery(brand: Brand, webhook_id: str,
                 delivery_id: str) -> tuple[WebhookDelivery, list[WebhookAttempt]]:  # fmt: skip
    """One delivery with its attempts, oldest first."""
    row = _delivery(get(brand, webhook_id), delivery_id)
    attempts = db.session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == row.id).order_by(WebhookAttempt.number)).all()  # fmt: skip
    return row, list(attempts)


def redeliver(brand: Brand, webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, under the same delivery id, with a fresh day of retries."""
    hook = get(brand, webhook_id)
    if not hook.active:
        raise WebhookDisabled()
    row = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == _delivery(hook, delivery_id).id).with_for_update()
        .execution_options(populate_existing=True))  # fmt: skip
    assert row is not None
    row.status, row.failures, row.next_attempt_at = DeliveryStatus.pending, 0, utcnow()
    db.session.flush()
    enqueue_after_commit(deliver, str(row.id), queue_name=QUEUE)
    return row

