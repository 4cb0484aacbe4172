"""``GET /api/v1/me/data`` is complete; ``DELETE /api/v1/me`` erases identity, keeps money whole."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, or_, select

from tests.profiles.conftest import SHANGHAI, consent, scan, settle
from tests.test_app import assert_envelope
from tests.workers import run_workers


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def _full_history(client: FlaskClient, codes: Any, shopper: Any, flush_scans: Any) -> str:
    """Consents, two scans (one winning a red packet), a rating and preferences; a scan id."""
    consent(client, shopper, profiling=True, marketing=True, precise_location=True)
    first = scan(client, shopper, codes.urls[0], location=SHANGHAI, device_id="dev-1")
    scan(client, shopper, codes.urls[1], device_id="dev-1")
    settle(flush_scans)
    response = client.post(
        "/api/v1/me/feedback",
        headers=shopper.headers,
        json={"scan_id": first["scan_id"], "rating": 5, "comment": "很好"},
    )
    assert response.status_code == 201
    body = {"interests": ["绿茶"], "wishes": [{"text": "桂花味"}]}
    assert (
        client.put("/api/v1/me/preferences", json=body, headers=shopper.headers).status_code == 200
    )
    run_workers()
    return str(first["scan_id"])


def test_my_data_holds_everything(
    client: FlaskClient, make_codes: Any, make_shopper: Any, make_campaign: Any, flush_scans: Any
) -> None:
    from core.db import Base

    codes = make_codes(3)
    make_campaign(codes.owner)
    shopper = make_shopper(codes.brand)
    scan_id = _full_history(client, codes, shopper, flush_scans)
    data = client.get("/api/v1/me/data", headers=shopper.headers).get_json()
    assert data["consumer"]["id"] == str(shopper.consumer.id)
    assert data["consents"]["profiling"] and len(data["consents"]["history"]) == 3
    assert data["preferences"]["interests"] == ["绿茶"]
    assert data["profile"]["scan_count"] == 2 and data["profile"]["rating_avg"] == 5.0
    assert data["profile"]["cities"] == [{"province": "上海市", "city": "上海市", "scans": 1}]
    records = data["records"]
    tables = {t.name for t in Base.metadata.sorted_tables if "consumer_id" in t.c}
    assert tables - {"wechat_identities"} <= set(records)
    assert {r["id"] for r in records["scan_events"]} >= {scan_id}
    assert records["scan_events"][0]["device_id"] == "dev-1"
    assert [r["comment"] for r in records["feedback"]] == ["很好"]
    assert len(records["awards"]) == 2 and len(records["payouts"]) == 2  # both codes won
    assert records["points_entries"] == []


def test_my_data_is_only_mine(
    client: FlaskClient, make_codes: Any, make_shopper: Any, flush_scans: Any
) -> None:
    codes = make_codes(3)
    me, other = make_shopper(codes.brand), make_shopper(codes.brand)
    scan(client, other, codes.urls[0])
    settle(flush_scans)
    data = client.get("/api/v1/me/data", headers=me.headers).get_json()
    assert all(rows == [] for rows in data["records"].values())
    assert data["profile"] is None


def _count(model: Any, **where: Any) -> int:
    from core.db import db

    query = select(func.count()).select_from(model).filter_by(**where)
    return int(db.session.scalar(query) or 0)


def test_erasure_removes_identity_keeps_money_and_tokens_stop_working(
    client: FlaskClient, make_codes: Any, make_shopper: Any, make_campaign: Any,
    flush_scans: Any, fake_wechat: Any,
) -> None:  # fmt: skip
    from anticounterfeit.models import ScanEvent
    from campaigns.models import Award, Payout
    from core.db import db
    from profiles.models import (
        ConsentRecord,
        Consumer,
        ConsumerProfile,
        Feedback,
        Preference,
        ProfileScan,
        WechatIdentity,
    )  # fmt: skip

    codes = make_codes(3)
    fake_wechat.register_app("wxerase", "erase-secret")
    codes.brand.wechat_appid, codes.brand.wechat_secret = "wxerase", "erase-secret"
    make_campaign(codes.owner)
    code = fake_wechat.issue_js_code("wxerase", "o-erase-me")
    login = client.post("/api/v1/auth/wechat", json={"brand": codes.brand.slug, "js_code": code})
    assert login.status_code == 200
    cid = login.get_json()["consumer"]["id"]
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    shopper = type(
        "S", (), {"consumer": db.session.get(Consumer, uuid.UUID(cid)), "headers": headers}
    )()
    _full_history(client, codes, shopper, flush_scans)
    consumer_id = shopper.consumer.id
    assert _count(ConsumerProfile, consumer_id=consumer_id) == 1

    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 202 and response.get_json()["status"] == "erasing"
    run_workers()
    assert_envelope(client.get("/api/v1/me", headers=headers), 401, "token_revoked")
    assert_envelope(client.get("/api/v1/me/data", headers=headers), 401, "token_revoked")
    response = client.post("/api/v1/scans", json={"code": codes.urls[2]}, headers=headers)
    assert_envelope(response, 401, "token_revoked")

    db.session.expire_all()
    consumer = db.session.get(Consumer, consumer_id)
    assert consumer is not None and consumer.erased_at and consumer.erasure_done_at
    assert _count(WechatIdentity, consumer_id=consumer_id) == 0
    assert _count(ConsumerProfile, consumer_id=consumer_id) == 0
    assert _count(ProfileScan, consumer_id=consumer_id) == 0
    assert _count(Preference, consumer_id=consumer_id) == 0
    feedback = db.session.scalars(select(Feedback).where(Feedback.consumer_id == consumer_id)).all()
    assert [(f.rating, f.comment) for f in feedback] == [(5, None)]
    scans = db.session.scalars(select(ScanEvent).where(ScanEvent.consumer_id == consumer_id)).all()
    assert len(scans) == 2 and scans[0].city == "上海市"
    assert all((s.device_id, s.ip, s.lat, s.lng) == (None, None, None, None) for s in scans)
    awards = db.session.scalars(select(Award).where(Award.consumer_id == consumer_id)).all()
    assert [(a.amount, a.status.value) for a in awards] == [(88, "paid")] * 2
    assert all(_count(Payout, award_id=a.id) == 1 for a in awards)
    assert _count(ConsentRecord, consumer_id=consumer_id) == 3  # proof of consent, anonymous

    code = fake_wechat.issue_js_code("wxerase", "o-erase-me")
    again = client.post("/api/v1/auth/wechat", json={"brand": codes.brand.slug, "js_code": code})
    assert again.get_json()["consumer"]["is_new"] is True
    assert again.get_json()["consumer"]["id"] != cid


@pytest.mark.parametrize(
    ("payout_status", "outcome"), [("pending", "paid"), ("awaiting_user", "cancelled")]
)
def test_erasure_settles_an_open_red_packet_first(
    client: FlaskClient, make_codes: Any, make_shopper: Any, make_campaign: Any,
    flush_scans: Any, payout_status: str, outcome: str,
) -> None:  # fmt: skip
    from campaigns.models import Award, AwardStatus, Campaign, Payout, PayoutStatus
    from core.db import db

    codes = make_codes(2)
    campaign = make_campaign(codes.owner)
    shopper = make_shopper(codes.brand)
    scan(client, shopper, codes.urls[0])
    settle(flush_scans)
    award = db.session.scalars(select(Award).where(Award.consumer_id == shopper.consumer.id)).one()
    payout = db.session.scalars(select(Payout).where(Payout.award_id == award.id)).one()
    # As if WeChat had not answered yet, or the shopper had not opened the red packet.
    payout.status = PayoutStatus(payout_status)
    award.status = AwardStatus(payout_status)
    db.session.flush()
    db.session.refresh(campaign)
    spent_before = campaign.spent
    assert spent_before == 88
    assert client.delete("/api/v1/me", headers=shopper.headers).status_code == 202
    run_workers()
    db.session.expire_all()
    assert db.session.get(Award, award.id).status.value == outcome  # type: ignore[union-attr]
    spent = db.session.get(Campaign, campaign.id).spent  # type: ignore[union-attr]
    assert spent == (spent_before if outcome == "paid" else spent_before - 88)


def test_erasure_is_consumer_only(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    owner = make_brand()
    assert_envelope(client.delete("/api/v1/me", headers=bearer(owner)), 403, "wrong_token_kind")
    assert_envelope(client.delete("/api/v1/me"), 401, "unauthenticated")


#: Tables that keep an erased consumer's rows, pointing at the anonymous tombstone: money and
#: ledgers, the facts of scans and of the goods' journey, proof of consent, anonymous ratings.
KEPT = {
    "scan_events", "awards", "draws", "campaign_consumer_wins", "campaign_first_draws",
    "points_accounts", "points_entries", "redemptions", "feedback", "consent_records",
    "consumer_days", "channel_events", "fraud_appeals", "code_states", "partner_invites",
}  # fmt: skip
#: Columns that say something about the person rather than the fact: empty in kept rows.
PERSONAL = {"device_id", "ip", "lat", "lng", "accuracy_m", "comment", "message", "openid",
            "unionid"}  # fmt: skip


def _clerk_and_appeal(brand: Any, consumer_id: uuid.UUID) -> None:
    """Make the shopper a store's clerk with a channel scan, and appeal one of their awards."""
    from campaigns.models import Award
    from channel import partners
    from channel.inputs import NewPartner
    from channel.models import ChannelAction, ChannelEvent
    from core.db import db
    from fraud.models import Appeal

    store = partners.create_partner(brand, NewPartner("store", "杭州门店", "浙江省", "杭州市"))
    partners.join(brand.id, consumer_id, partners.create_invite(brand, str(store.id)).code)
    db.session.add(ChannelEvent(brand_id=brand.id, action=ChannelAction.receive, code_ref="x",
                                code_level="unit", partner_id=store.id, clerk_id=consumer_id,
                                units=1, lat=30.2741, lng=120.1551, province="浙江省",
                                city="杭州市"))  # fmt: skip
    award = db.session.scalars(select(Award).where(Award.consumer_id == consumer_id)).first()
    assert award is not None
    db.session.add(Appeal(brand_id=brand.id, award_id=award.id, consumer_id=consumer_id,
                          message="我是张三, 电话 138..."))  # fmt: skip
    db.session.flush()


def _holdings(consumer_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that refers to the consumer, by table."""
    from core.db import Base, db
    from profiles.export import consumer_columns

    out = {}
    for name, columns in consumer_columns().items():
        table = Base.metadata.tables[name]
        match = or_(*(table.c[c] == consumer_id for c in columns))
        out[name] = [dict(r) for r in db.session.execute(select(table).where(match)).mappings()]
    return out


def test_erasure_and_export_are_complete_over_every_table(
    client: FlaskClient, make_codes: Any, make_shopper: Any, make_campaign: Any, flush_scans: Any
) -> None:
    """By construction: every table that refers to a consumer (now or added later) is in the
    export, and after erasure either holds nothing of them or is a kept table whose rows carry
    nothing personal."""
    from profiles.export import consumer_columns

    codes = make_codes(3)
    make_campaign(codes.owner)
    shopper = make_shopper(codes.brand)
    _full_history(client, codes, shopper, flush_scans)
    _clerk_and_appeal(codes.brand, shopper.consumer.id)
    data = client.get("/api/v1/me/data", headers=shopper.headers).get_json()
    before = _holdings(shopper.consumer.id)
    for name, rows in before.items():
        if name != "wechat_identities":  # exported under "identities"
            assert len(data["records"][name]) == len(rows), name
    held = {name for name, rows in before.items() if rows}
    assert {"channel_events", "partner_clerks", "fraud_appeals", "consumer_profiles",
            "profile_cities", "scan_events", "awards"} <= held  # fmt: skip
    assert client.delete("/api/v1/me", headers=shopper.headers).status_code == 202
    run_workers()
    after = _holdings(shopper.consumer.id)
    assert set(after) == set(consumer_columns())
    left = {name for name, rows in after.items() if rows}
    assert left <= KEPT, f"erasure left rows in {sorted(left - KEPT)}"
    assert {"scan_events", "awards", "consent_records", "channel_events", "fraud_appeals"} <= left
    for name in left:
        for row in after[name]:
            personal = {k: v for k, v in row.items() if k in PERSONAL and v not in (None, "")}
            assert not personal, (name, personal)
