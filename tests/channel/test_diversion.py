"""Diversion cases: goods of a dealer surfacing outside its territory, at a store or a shopper."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from tests.channel.conftest import Channel, cscan
from tests.channel.test_channel_scans import DEALER, FAR, STORE, packed, ship_pallet

URUMQI = {"lat": 43.8256, "lng": 87.6168}
HANGZHOU = {"lat": 30.2741, "lng": 120.1551}


def _cases() -> list[Any]:
    from sqlalchemy import select

    from core.db import db
    from fraud.models import FraudCase

    return list(db.session.scalars(select(FraudCase).order_by(FraudCase.opened_at)))


def _to_dealer(client: FlaskClient, bearer: Any, ch: Channel) -> str:
    """The pallet goes warehouse → dealer; the dealer ships case 0 to Hangzhou, case 1 to Urumqi.

    Returns the id of the shipment to the dealer."""
    packed(client, bearer, ch)
    shipment = ship_pallet(client, bearer, ch).get_json()["event_id"]
    dealer = bearer(ch.clerks[DEALER])
    assert cscan(client, dealer, ch.pallets.urls[0], "receive").status_code == 201
    for case, store in ((0, STORE), (1, FAR)):
        r = cscan(client, dealer, ch.cases.urls[case], "ship",
                  to_partner_id=str(ch.partners[store].id))  # fmt: skip
        assert r.status_code == 201
    return str(shipment)


def test_a_store_receiving_outside_the_dealers_territory_opens_a_case(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    shipment = _to_dealer(client, bearer, ch)
    assert cscan(client, bearer(ch.clerks[STORE]), ch.cases.urls[0], "receive").status_code == 201
    assert _cases() == []  # Hangzhou is in 浙江省
    r = cscan(client, bearer(ch.clerks[FAR]), ch.cases.urls[1], "receive")
    assert r.status_code == 201
    [case] = _cases()
    assert case.kind.value == "diversion" and case.status.value == "open"
    assert case.subject == f"dealer:{ch.partners[DEALER].id}:shipment:{shipment}"
    [signal] = case.signals
    evidence = signal["evidence"]
    assert evidence["shipment_event_id"] == shipment and evidence["city"] == "乌鲁木齐市"
    assert evidence["dealer_name"] == DEALER and evidence["units"] == 6
    assert evidence["receive_event_id"] == r.get_json()["event_id"]


def test_a_shopper_scanning_outside_the_territory_opens_a_case_off_the_scan_path(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    from channel.jobs import check_scans
    from tests.workers import run_workers

    ch = make_channel()
    shipment = _to_dealer(client, bearer, ch)
    scan_ids = []
    for url, place in ((ch.units.urls[0], HANGZHOU), (ch.units.urls[7], URUMQI)):
        r = client.post("/api/v1/scans", json={"code": url, "location": place})
        assert r.get_json()["verdict"] == "authentic"  # the shopper's verdict is unchanged
        scan_ids.append(uuid.UUID(r.get_json()["scan_id"]))
    run_workers()  # the flusher (its listener sends the check), then a worker
    [case] = _cases()
    [signal] = case.signals
    assert signal["evidence"]["surfaced"] == "consumer_scan"
    assert signal["evidence"]["shipment_event_id"] == shipment
    assert signal["evidence"]["serial"] == str(ch.units.serials[7])
    assert check_scans(ch.brand.id, scan_ids) == 1  # a job run twice ...
    [case] = _cases()
    assert len(case.signals) == 1  # ... counts each scan once


def test_fraud_cases_api(client: FlaskClient, make_channel: Any, bearer: Any,
                         make_staff: Any) -> None:  # fmt: skip
    ch = make_channel()
    _to_dealer(client, bearer, ch)
    cscan(client, bearer(ch.clerks[FAR]), ch.cases.urls[1], "receive")
    listed = client.get("/api/v1/fraud/cases?kind=diversion&status=open", headers=bearer(ch.owner))
    assert listed.status_code == 200
    [case] = listed.get_json()
    assert case["kind"] == "diversion" and case["status"] == "open"
    one = client.get(f"/api/v1/fraud/cases/{case['id']}", headers=bearer(ch.owner)).get_json()
    assert one["signals"][0]["evidence"]["city"] == "乌鲁木齐市"
    assert one["subject"].startswith(f"dealer:{ch.partners[DEALER].id}:shipment:")
    analyst = make_staff(ch.brand, "analyst")
    assert client.get("/api/v1/fraud/cases", headers=bearer(analyst)).status_code == 200
    other = make_channel()
    r = client.get(f"/api/v1/fraud/cases/{case['id']}", headers=bearer(other.owner))
    assert r.status_code == 404
    assert client.get("/api/v1/fraud/cases?kind=nope", headers=bearer(ch.owner)).status_code == 422
