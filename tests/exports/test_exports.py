"""Export streams: NDJSON records with their cursors, paging, signed cursors, roles, brands."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.exports.conftest import read_all, read_page

pytestmark = pytest.mark.usefixtures("committed")


def _scans(brand: Any, batch: Any, n: int, **values: Any) -> list[str]:
    """``n`` scan events of the brand's batch, committed; their ids."""
    from anticounterfeit.models import ScanEvent
    from core.db import db

    rows = [
        ScanEvent(brand_id=brand.id, code_batch_id=batch.id, serial=i, verdict="authentic",
                  **values)
        for i in range(n)
    ]  # fmt: skip
    db.session.add_all(rows)
    db.commit()
    return [str(r.id) for r in rows]


def test_scans_stream_pages_in_order_with_cursors(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    from core.db import db

    c = make_codes(5)
    db.commit()
    ids = _scans(c.brand, c.batch, 7, ip="203.0.113.9", province="上海市", lat=31.25, lng=121.5)
    headers = bearer(c.owner)
    whole, _ = read_page(client, headers, "scans")
    order = [r["scan_id"] for r in whole]  # one transaction's rows: in id order
    assert sorted(order) == sorted(ids)
    first, cursor = read_page(client, headers, "scans", limit=3)
    assert [r["scan_id"] for r in first] == order[:3]
    assert cursor == first[-1]["cursor"]
    record = first[0]
    assert record["code_batch_id"] == str(c.batch.id) and record["serial"].isdigit()
    assert record["verdict"] == "authentic" and record["province"] == "上海市"
    assert record["lat"] == 31.25 and record["ip"] == "203.0.113.9"
    assert record["created_at"].endswith("+00:00") and record["consumer_id"] is None
    # a record's cursor resumes right after that record
    middle, _ = read_page(client, headers, "scans", after=first[1]["cursor"], limit=2)
    assert [r["scan_id"] for r in middle] == order[2:4]
    rest, end = read_page(client, headers, "scans", after=cursor)
    assert [r["scan_id"] for r in rest] == order[3:]
    empty, same = read_page(client, headers, "scans", after=end)
    assert empty == [] and same == end
    later = _scans(c.brand, c.batch, 2)
    new, _ = read_page(client, headers, "scans", after=same)
    assert sorted(r["scan_id"] for r in new) == sorted(later)


def test_a_changed_row_comes_again_after_the_cursor(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    """An erasure clears a scan's address: the warehouse gets the row again, changed."""
    from sqlalchemy import update

    from anticounterfeit.models import ScanEvent
    from core.db import db

    c = make_codes(5)
    db.commit()
    ids = _scans(c.brand, c.batch, 3, ip="203.0.113.9")
    headers = bearer(c.owner)
    records, cursor = read_page(client, headers, "scans")
    assert len(records) == 3
    db.session.execute(update(ScanEvent).where(ScanEvent.id == uuid.UUID(ids[0])).values(ip=None))
    db.commit()
    [again], _ = read_page(client, headers, "scans", after=cursor)
    assert again["scan_id"] == ids[0] and again["ip"] is None


def test_brands_and_streams_do_not_share_cursors(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    from core.db import db

    a, b = make_codes(3), make_codes(3)
    db.commit()
    ids_a = _scans(a.brand, a.batch, 2)
    ids_b = _scans(b.brand, b.batch, 3)
    assert sorted(r["scan_id"] for r in read_all(client, bearer(a.owner), "scans")) == sorted(
        ids_a
    )
    records_b, cursor_b = read_page(client, bearer(b.owner), "scans", limit=1)
    assert records_b[0]["scan_id"] in ids_b
    for stream, headers in (("scans", bearer(a.owner)), ("awards", bearer(b.owner))):
        response = client.get(
            f"/api/v1/exports/{stream}", query_string={"after": cursor_b}, headers=headers
        )
        assert response.status_code == 422
        assert response.get_json()["reason"] == "invalid_cursor"


@pytest.mark.parametrize("tamper", [
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # the signature
    lambda c: "9" + c,  # the key
    lambda c: c.split(".", 1)[1],  # a part missing
    lambda c: "not-a-cursor",
    lambda c: "1.2.3",
])  # fmt: skip
def test_tampered_cursors_are_refused(
    client: FlaskClient, make_codes: Any, bearer: Any, tamper: Any
) -> None:
    from core.db import db

    c = make_codes(3)
    db.commit()
    _scans(c.brand, c.batch, 2)
    headers = bearer(c.owner)
    [record], _ = read_page(client, headers, "scans", limit=1)
    response = client.get(
        "/api/v1/exports/scans", query_string={"after": tamper(record["cursor"])}, headers=headers
    )
    assert response.status_code == 422
    assert response.get_json()["reason"] == "invalid_cursor"


@pytest.mark.parametrize("limit", ["0", "-1", str(10**9), "1000001", "ten", "1.5"])
def test_bad_limits_are_refused_clearly(
    client: FlaskClient, make_brand: Any, bearer: Any, limit: str
) -> None:
    from core.db import db

    owner = make_brand()
    db.commit()
    response = client.get(
        "/api/v1/exports/scans", query_string={"limit": limit}, headers=bearer(owner)
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["reason"] == "validation_error" and "limit" in body["errors"]["query"]


def test_unknown_stream_is_a_404_and_roles_follow_the_contract(
    client: FlaskClient, make_brand: Any, make_staff: Any, bearer: Any
) -> None:
    from core.db import db

    owner = make_brand()
    staff = {role: make_staff(owner.brand, role) for role in ("marketer", "operator", "analyst")}
    db.commit()
    response = client.get("/api/v1/exports/secrets", headers=bearer(owner))
    assert response.status_code == 404 and response.get_json()["reason"] == "not_found"
    allowed = {
        "scans": {"marketer", "operator", "analyst"},
        "fraud_decisions": {"operator", "analyst"},
        "feedback": {"marketer", "analyst"},
        "audit": set(),
    }
    for stream, roles in allowed.items():
        assert client.get(f"/api/v1/exports/{stream}", headers=bearer(owner)).status_code == 200
        for role, user in staff.items():
            response = client.get(f"/api/v1/exports/{stream}", headers=bearer(user))
            expected = 200 if role in roles else 403
            assert response.status_code == expected, (stream, role)
            if expected == 403:
                assert response.get_json()["reason"] == "role_forbidden"
    assert client.get("/api/v1/exports/scans").status_code == 401


def test_reward_streams_carry_awards_payouts_and_points(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any, flush_scans: Any
) -> None:
    from campaigns import service
    from campaigns.models import Award, Payout, PointsEntry
    from campaigns.schemas import CampaignCreateSchema
    from core.db import db
    from tests.campaigns.conftest import campaign_body
    from tests.workers import run_workers

    c = make_codes(5)
    for kind in ("red_packet", "points"):
        body = CampaignCreateSchema().load(campaign_body(kind))
        campaign = service.create_campaign(c.brand, body, c.owner)
        service.transition(c.brand, str(campaign.id), "activate")
    shopper = make_consumer(c.brand)
    db.commit()
    response = client.post(
        "/api/v1/scans", json={"code": c.urls[0]}, headers=bearer(shopper)
    )
    assert response.status_code == 200
    run_workers()
    flush_scans()
    db.session.rollback()  # one SQLite connection in the embedded run: end the flush's read
    headers = bearer(c.owner)
    awards = read_all(client, headers, "awards")
    cash = db.session.scalar(select(Award).where(Award.kind == "red_packet"))
    assert cash is not None and cash.status == "paid"
    [payout] = db.session.scalars(select(Payout))
    [entry] = db.session.scalars(select(PointsEntry))
    cash_id, payout_id, entry_id = str(cash.id), str(payout.id), str(entry.id)
    db.session.rollback()  # one SQLite connection in the embedded run: end the read
    latest = {r["award_id"]: r for r in awards}  # a paid award came again, changed
    assert latest[cash_id]["amount_fen"] == 88 and latest[cash_id]["points"] is None
    assert latest[cash_id]["status"] == "paid"
    points_award = next(r for r in latest.values() if r["kind"] == "points")
    assert points_award["points"] == 88 and points_award["amount_fen"] is None
    payouts = {r["payout_id"]: r for r in read_all(client, headers, "payouts")}
    assert payouts[payout_id]["status"] == "paid" and payouts[payout_id]["award_id"] == cash_id
    [points] = read_all(client, headers, "points")
    assert points["points_entry_id"] == entry_id and points["points"] == 88
    [scan] = read_all(client, headers, "scans")
    assert scan["consumer_id"] == str(shopper.id)


def test_text_with_backslashes_quotes_and_chinese_survives(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    from core.db import db

    c = make_codes(3)
    db.commit()
    device = 'dev\\ice "1"\\\\ \u2028 上海'
    [scan_id] = _scans(c.brand, c.batch, 1, device_id=device, city="乌鲁木齐市")
    [record] = read_all(client, bearer(c.owner), "scans")
    assert record["scan_id"] == scan_id
    assert record["device_id"] == device and record["city"] == "乌鲁木齐市"
