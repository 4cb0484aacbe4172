"""Reports on rollups: the counts match the scans, consumers are suppressed when few, replayed
flushes are repaired by the rebuild, forged codes are counted, campaign pace warns."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.campaigns.conftest import scan_as
from tests.test_app import assert_envelope
from tests.workers import run_workers


def _report(client: FlaskClient, owner: Any, bearer: Any, query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/reports/scans?{query}", headers=bearer(owner))
    assert response.status_code == 200, response.get_json()
    rows: list[dict[str, Any]] = response.get_json()
    return rows


def _today() -> str:
    from console.rollups import CHINA
    from core.db import utcnow

    return (utcnow() + CHINA).date().isoformat()


def test_scans_by_day_product_and_province_with_suppressed_consumers(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    from core.db import db

    c = make_codes(quantity=20)
    shanghai = {"location": {"lat": 31.23, "lng": 121.47, "accuracy_m": 30}}
    for url in c.urls[:12]:
        scan_as(client, bearer(make_consumer(c.brand)), url, **shanghai)
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])  # a second person: suspect copy
    run_workers()
    [day] = _report(client, c.owner, bearer, "group_by=day")
    assert day["key"] == _today()
    counts = (day["scans"], day["authentic"], day["suspect_copy"], day["counterfeit"])
    assert counts == (13, 12, 1, 0)
    assert day["consumers"] is None  # 13 people < the default minimum of 20
    c.brand.settings = {**c.brand.settings, "min_segment_size": 10}
    db.session.flush()
    [day] = _report(client, c.owner, bearer, "group_by=day")
    assert day["consumers"] == 10  # 13 people, published rounded down to a multiple of k
    [product] = _report(client, c.owner, bearer, "group_by=product")
    assert product["label"] == "龙井茶 Longjing tea" and product["scans"] == 13
    by_province = _report(client, c.owner, bearer, "group_by=province")
    provinces = {r["key"]: r["scans"] for r in by_province}
    assert provinces == {"上海市": 12, "": 1}
    cities = _report(client, c.owner, bearer, "group_by=city&province=上海市")
    assert [(r["key"], r["scans"]) for r in cities] == [("上海市", 12)]
    hours = _report(client, c.owner, bearer, "group_by=hour")
    assert sum(r["scans"] for r in hours) == 13 and hours[0]["consumers"] is None
    yesterday = _report(client, c.owner, bearer, "from=2020-01-01&to=2020-01-31")
    assert yesterday == []


def test_a_replayed_flush_is_repaired_by_the_rebuild(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    from anticounterfeit.models import ScanEvent
    from anticounterfeit.scans.bulkwrite import StoredEvent
    from anticounterfeit.scans.state import to_micros
    from console import rollups
    from console.jobs import rebuild_rollups
    from core.db import db

    c = make_codes()
    for url in c.urls[:3]:
        scan_as(client, bearer(make_consumer(c.brand)), url)
    run_workers()
    events = [
        StoredEvent({"id": str(e.id), "brand": str(e.brand_id), "batch": str(e.code_batch_id),
                     "at": to_micros(e.created_at), "verdict": e.verdict,
                     "consumer": str(e.consumer_id)})
        for e in db.session.query(ScanEvent).all()
    ]  # fmt: skip
    rollups.scans_flushed(events)  # a flusher that crashed before acknowledging, replayed
    assert _report(client, c.owner, bearer, "group_by=day")[0]["scans"] == 6
    assert rebuild_rollups() >= 1
    [day] = _report(client, c.owner, bearer, "group_by=day")
    assert day["scans"] == 3 and day["authentic"] == 3


def test_forged_codes_are_counted_for_the_brand_whose_key_they_carry(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    from console.jobs import count_forged_scans

    c = make_codes()
    code = c.rows[0][1]
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    for _ in range(3):
        body = client.post("/api/v1/scans", json={"code": forged}).get_json()
        assert body["verdict"] == "counterfeit"
    client.post("/api/v1/scans", json={"code": "NOTACODEATALL"})
    assert count_forged_scans() == 3
    assert count_forged_scans() == 0  # the cursor moved on
    [day] = _report(client, c.owner, bearer, "group_by=day")
    assert (day["scans"], day["counterfeit"]) == (3, 3)


def test_campaign_report_spend_tiers_and_pace_warning(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any
) -> None:
    c = make_codes(quantity=30)
    campaign = make_campaign(c.owner)
    for url in c.urls[:21]:
        scan_as(client, bearer(make_consumer(c.brand)), url)
    path = f"/api/v1/reports/campaigns/{campaign.id}"
    report = client.get(path, headers=bearer(c.owner)).get_json()
    assert report["spend_by_day"] == [{"day": _today(), "amount": 21 * 88, "awards": 21}]
    assert sum(a["count"] for a in report["awards"]) == 21  # (some held: 21 people on one IP)
    assert report["pace"]["draws"] == 21 and report["warnings"] == []
    # The marketer lowers the odds: past spend per draw is now far above the new forecast.
    body = {"prizes": [{"amount_fen": 88, "probability": 0.1}]}
    assert client.patch(f"/api/v1/campaigns/{campaign.id}", json=body,
                        headers=bearer(c.owner)).status_code == 200  # fmt: skip
    report = client.get(path, headers=bearer(c.owner)).get_json()
    [warning] = report["warnings"]
    assert warning["reason"] == "spend_faster_than_forecast"


def test_overview_and_refusals(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    make_brand: Any,
) -> None:  # fmt: skip
    c = make_codes()
    campaign = make_campaign(c.owner)
    scan_as(client, bearer(make_consumer(c.brand)), c.urls[0])
    run_workers()
    overview = client.get("/api/v1/reports/overview", headers=bearer(c.owner)).get_json()
    assert [x["name"] for x in overview["campaigns"]] == [campaign.name]
    [live] = overview["campaigns"]
    report = client.get(f"/api/v1/reports/campaigns/{campaign.id}", headers=bearer(c.owner))
    expected = live["spent"] + round(report.get_json()["forecast"]["expected_total_spend"])
    assert live["spent"] <= live["forecast_at_end"] == min(live["budget"], expected)
    assert sum(p["count"] for p in overview["payouts"]) == 1
    assert overview["open_fraud_cases"] == 0
    owner = bearer(c.owner)
    assert_envelope(client.get("/api/v1/reports/scans?group_by=nope", headers=owner), 422,
                    "validation_error")  # fmt: skip
    assert_envelope(client.get("/api/v1/reports/scans?from=2026-02-01&to=2026-01-01",
                               headers=owner), 422, "validation_error")  # fmt: skip
    other = make_brand()
    assert_envelope(client.get(f"/api/v1/reports/campaigns/{campaign.id}", headers=bearer(other)),
                    404, "unknown_campaign")  # fmt: skip
    shopper = bearer(make_consumer(c.brand))
    assert_envelope(client.get("/api/v1/reports/scans", headers=shopper), 403, "wrong_token_kind")
    assert_envelope(client.get("/api/v1/reports/scans"), 401, "unauthenticated")
    assert client.get("/api/v1/reports/scans", headers=bearer(other)).get_json() == []


def _plant_days(brand: Any, product_id: Any, people: int, days_ago: int, city: str) -> None:
    """``people`` consumers who scanned ``days_ago`` (China time) in ``city``, straight into the
    rollups the write-behind maintains."""
    import uuid
    from collections import Counter
    from datetime import date, timedelta

    from console import rollups
    from console.models import ConsumerDay
    from core.db import db

    day = date.fromisoformat(_today()) - timedelta(days=days_ago)
    province = "浙江省" if city != "上海市" else "上海市"
    place = {"brand_id": brand.id, "day": day, "product_id": product_id, "province": province,
             "city": city}  # fmt: skip
    for _ in range(people):
        db.session.add(ConsumerDay(**place, consumer_id=uuid.uuid4()))
    rollups.add(Counter({(brand.id, day, 10, product_id, province, city, "authentic"): people}))
    db.session.flush()


def test_differencing_two_overlapping_reports_singles_out_nobody(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    """The analyst knows the target alone scanned yesterday in 宁波市 and subtracts "the week
    up to the day before" from "the week up to yesterday", then a province from its cities."""
    from datetime import date, timedelta

    c = make_codes()
    product = c.batch.product_id
    _plant_days(c.brand, product, 44, 3, "杭州市")
    _plant_days(c.brand, product, 1, 1, "宁波市")  # the target
    today = date.fromisoformat(_today())
    week = (today - timedelta(days=6)).isoformat()
    before = _report(client, c.owner, bearer, f"from={week}&to={today - timedelta(days=2)}")
    with_target = _report(client, c.owner, bearer, f"from={week}&to={today}")
    assert sum(r["consumers"] or 0 for r in before) == 40  # 44 people, rounded down
    by_product = _report(client, c.owner, bearer, f"group_by=product&from={week}&to={today}")
    assert by_product[0]["consumers"] == 40  # 45 people: the target does not show
    province = _report(client, c.owner, bearer, f"group_by=province&from={week}&to={today}")
    cities = _report(client, c.owner, bearer,
                     f"group_by=city&province=浙江省&from={week}&to={today}")  # fmt: skip
    assert [r["consumers"] for r in province] == [40]
    assert {r["key"]: r["consumers"] for r in cities} == {"杭州市": 40, "宁波市": None}
    numbers = [r["consumers"] for rows in (before, with_target, by_product, province, cities)
               for r in rows if r["consumers"] is not None]  # fmt: skip
    assert numbers and all(n % 20 == 0 for n in numbers)
    assert all(a == b or abs(a - b) >= 20 for a in numbers for b in numbers)
