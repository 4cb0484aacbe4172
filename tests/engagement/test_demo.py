"""``flask demo``: idempotent seed whose printed URLs scan as authentic and can win."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask


def test_demo_seeds_once_and_prints_scannable_urls(app: Flask, client: Any) -> None:
    from campaigns.models import Campaign, CampaignStatus
    from core.db import db
    from profiles.models import Consumer

    runner = app.test_cli_runner()
    first, second = runner.invoke(args=["demo"]), runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    campaign = db.session.query(Campaign).filter_by(audience="consumer").one()
    assert campaign.status is CampaignStatus.active
    urls = re.findall(r"(https?://\S+/01/\d{14}/21/[A-Z2-7]+)", first.output)
    assert len(urls) == 3
    [token] = re.findall(r"Authorization: Bearer (\S+)", first.output)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/scans", json={"code": urls[0]}, headers=headers)
    assert response.status_code == 200 and response.get_json()["verdict"] == "authentic"
    from profiles.demo import SHOPPERS

    # the demo shopper, the demo harvester, the profiled shoppers, the console's 60 of six
    # weeks, the demo channel's 4 clerks
    assert db.session.query(Consumer).count() == 2 + SHOPPERS + 60 + 4
    from console.models import ScanRollup

    assert len({r.day for r in db.session.query(ScanRollup).all()}) >= 40
    from fraud.models import FraudCase

    [case] = db.session.query(FraudCase).filter(FraudCase.kind != "diversion").all()  # seeded once
    assert db.session.query(FraudCase).filter_by(kind="diversion").count() == 1  # the channel's
    assert case.status.value == "open"
    assert "batch_harvest" in {signal["rule"] for signal in case.signals}


def test_a_rerun_prints_codes_never_scanned(app: Flask, client: Any) -> None:
    runner = app.test_cli_runner()
    pattern = r"(https?://\S+/01/\d{14}/21/[A-Z2-7]+)"
    first = re.findall(pattern, runner.invoke(args=["demo"]).output)
    [token] = re.findall(r"Authorization: Bearer (\S+)", runner.invoke(args=["demo"]).output)
    headers = {"Authorization": f"Bearer {token}"}
    for url in first:
        assert client.post("/api/v1/scans", json={"code": url}, headers=headers).status_code == 200
    from tests.workers import run_workers

    run_workers()  # real servers: the scans are written behind before the rerun reads them
    second = re.findall(pattern, runner.invoke(args=["demo"]).output)
    assert len(second) == 3 and not set(second) & set(first)
    for url in second:
        body = client.post("/api/v1/scans", json={"code": url}).get_json()
        assert body["verdict"] == "authentic", body
