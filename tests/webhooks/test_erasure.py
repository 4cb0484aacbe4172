"""An erased consumer's id leaves the stored webhook deliveries; the deliveries stay JSON."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.campaigns.conftest import scan_as


def _paid_bodies() -> dict[str, dict[str, Any]]:
    from core.db import db
    from exports.webhooks.models import WebhookDelivery

    rows = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event == "award.paid")
        .execution_options(populate_existing=True)
    )  # fmt: skip
    return {str(row.id): json.loads(row.body) for row in rows}


def test_erasure_removes_the_consumer_from_webhook_deliveries(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_hook: Any, receiver: Any,
) -> None:  # fmt: skip
    from accounts import service
    from tests.workers import run_workers

    c = make_codes()
    service.update_brand(c.brand, service.BrandUpdate.of(settings={"fraud_hold_payouts": False}))
    make_hook(c.owner, receiver.url, ["award.paid"])
    make_campaign(c.owner)
    leaving, staying = make_consumer(c.brand), make_consumer(c.brand)
    scan_as(client, bearer(leaving), c.urls[0])
    scan_as(client, bearer(staying), c.urls[1])
    run_workers()
    before = _paid_bodies()
    assert sorted(b["data"]["consumer_id"] for b in before.values()) == sorted(
        [str(leaving.id), str(staying.id)]
    )
    assert client.delete("/api/v1/me", headers=bearer(leaving)).status_code == 202
    run_workers()
    after = _paid_bodies()
    assert sorted(after) == sorted(before)  # the deliveries stay
    assert sorted(str(b["data"]["consumer_id"]) for b in after.values()) == sorted(
        ["None", str(staying.id)]
    )
    for delivery_id, body in after.items():  # nothing else in them changed
        assert {**body["data"], "consumer_id": None} == {
            **before[delivery_id]["data"], "consumer_id": None
        }
