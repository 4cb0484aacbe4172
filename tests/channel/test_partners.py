"""Partners with territories, invites, and clerks joining from the mini-program."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


def _consumer(brand: Any) -> Any:
    from core.db import db
    from profiles.models import Consumer

    consumer = Consumer(brand_id=brand.id)
    db.session.add(consumer)
    db.session.flush()
    return consumer


def _partner(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    data = {"kind": "dealer", "name": "浙江经销商", "province": "浙江省", "city": "杭州市",
            "territory": ["浙江省", "上海市"], **body}  # fmt: skip
    return client.post("/api/v1/partners", json=data, headers=headers)


def test_register_list_and_read_partners(client: FlaskClient, make_brand: Any,
                                         bearer: Any) -> None:  # fmt: skip
    owner = make_brand()
    h = bearer(owner)
    dealer = _partner(client, h)
    assert dealer.status_code == 201, dealer.get_json()
    body = dealer.get_json()
    assert body["territory"] == ["浙江省", "上海市"] and body["kind"] == "dealer"
    store = _partner(client, h, kind="store", name="门店", territory=[], parent_id=body["id"])
    assert store.status_code == 201 and store.get_json()["parent_id"] == body["id"]
    listed = client.get("/api/v1/partners?kind=store", headers=h)
    assert [p["name"] for p in listed.get_json()] == ["门店"]
    other = make_brand()
    assert client.get(f"/api/v1/partners/{body['id']}", headers=bearer(other)).status_code == 404


def test_unknown_places_and_kinds_are_422(client: FlaskClient, make_brand: Any,
                                          bearer: Any) -> None:  # fmt: skip
    h = bearer(make_brand())
    r = _partner(client, h, territory=["Atlantis"])
    assert r.status_code == 422 and "territory" in r.get_json()["errors"]
    assert _partner(client, h, kind="kiosk").status_code == 422
    assert _partner(client, h, parent_id="not-an-id").status_code == 404


def test_a_consumer_joins_with_an_invite_once(client: FlaskClient, make_brand: Any,
                                              bearer: Any) -> None:  # fmt: skip
    owner = make_brand()
    partner = _partner(client, bearer(owner)).get_json()
    invite = client.post(f"/api/v1/partners/{partner['id']}/invites", headers=bearer(owner))
    assert invite.status_code == 201
    code = invite.get_json()["invite_code"]
    clerk = _consumer(owner.brand)
    joined = client.post("/api/v1/me/partner-memberships", json={"invite_code": code.lower()},
                         headers=bearer(clerk))  # fmt: skip
    assert joined.status_code == 201, joined.get_json()
    assert joined.get_json()["partner_id"] == partner["id"]
    again = client.post("/api/v1/me/partner-memberships", json={"invite_code": code},
                        headers=bearer(_consumer(owner.brand)))  # fmt: skip
    assert again.status_code == 409 and again.get_json()["reason"] == "invite_expired"


def test_unknown_expired_and_foreign_invites_are_refused(client: FlaskClient, make_brand: Any,
                                                         bearer: Any) -> None:  # fmt: skip
    from channel.models import PartnerInvite
    from core.db import db

    owner, other = make_brand(), make_brand()
    partner = _partner(client, bearer(owner)).get_json()
    code = client.post(f"/api/v1/partners/{partner['id']}/invites",
                       headers=bearer(owner)).get_json()["invite_code"]  # fmt: skip
    stranger = _consumer(other.brand)
    r = client.post("/api/v1/me/partner-memberships", json={"invite_code": code},
                    headers=bearer(stranger))  # fmt: skip
    assert r.status_code == 404 and r.get_json()["reason"] == "unknown_invite"
    me = _consumer(owner.brand)
    r = client.post("/api/v1/me/partner-memberships", json={"invite_code": "NOSUCHCODE"},
                    headers=bearer(me))  # fmt: skip
    assert r.status_code == 404
    invite = db.session.query(PartnerInvite).filter_by(code=code).one()
    invite.expires_at -= timedelta(days=8)
    db.session.flush()
    r = client.post("/api/v1/me/partner-memberships", json={"invite_code": code},
                    headers=bearer(me))  # fmt: skip
    assert r.status_code == 409 and r.get_json()["reason"] == "invite_expired"
    staff = client.post("/api/v1/me/partner-memberships", json={"invite_code": code},
                        headers=bearer(owner))  # fmt: skip
    assert staff.status_code == 403 and staff.get_json()["reason"] == "wrong_token_kind"


def test_a_clerk_belongs_to_one_partner(client: FlaskClient, make_brand: Any,
                                        bearer: Any) -> None:  # fmt: skip
    owner = make_brand()
    a = _partner(client, bearer(owner)).get_json()
    b = _partner(client, bearer(owner), name="另一家").get_json()
    me = _consumer(owner.brand)
    for partner, status in ((a, 201), (b, 409)):
        code = client.post(f"/api/v1/partners/{partner['id']}/invites",
                           headers=bearer(owner)).get_json()["invite_code"]  # fmt: skip
        r = client.post("/api/v1/me/partner-memberships", json={"invite_code": code},
                        headers=bearer(me))  # fmt: skip
        assert r.status_code == status
    assert r.get_json()["reason"] == "already_clerk"


def test_only_owners_and_operators_register_partners(
    client: FlaskClient, make_brand: Any, bearer: Any, make_staff: Any
) -> None:
    owner = make_brand()
    analyst = make_staff(owner.brand, "analyst")
    assert _partner(client, bearer(analyst)).status_code == 403
    assert client.get("/api/v1/partners", headers=bearer(analyst)).status_code == 200


@pytest.mark.realservices
def test_one_invite_redeemed_at_once_by_many_makes_one_clerk(
    app: Flask, committed: None, make_brand: Any
) -> None:
    """12 phones redeem one invite at once, and one phone two invites: one clerk per invite and
    per consumer, every other request a 409, nothing half-written."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from channel import partners
    from channel.inputs import NewPartner
    from channel.models import PartnerClerk, PartnerInvite
    from core.db import db
    from profiles.service import issue_consumer_token

    owner = make_brand()
    partner = partners.create_partner(owner.brand, NewPartner("store", "店", "浙江省", "杭州市"))
    shared = partners.create_invite(owner.brand, str(partner.id)).code
    spare = [partners.create_invite(owner.brand, str(partner.id)).code for _ in range(2)]
    consumers = [_consumer(owner.brand) for _ in range(12)]
    tokens = [issue_consumer_token(c).access_token for c in consumers]
    db.commit()
    jobs = [(t, shared) for t in tokens] + [(tokens[0], code) for code in spare]

    def redeem(job: tuple[str, str]) -> int:
        return app.test_client().post(
            "/api/v1/me/partner-memberships", json={"invite_code": job[1]},
            headers={"Authorization": f"Bearer {job[0]}"},
        ).status_code  # fmt: skip

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(redeem, jobs))
    assert set(codes) <= {201, 409} and codes.count(201) in (1, 2)
    db.session.expire_all()
    clerks = db.session.scalars(select(PartnerClerk).where(PartnerClerk.brand_id == owner.brand.id))
    by_consumer = [c.consumer_id for c in clerks]
    assert len(by_consumer) == len(set(by_consumer)) == codes.count(201)
    used = db.session.scalar(select(func.count()).select_from(PartnerInvite).where(
        PartnerInvite.brand_id == owner.brand.id, PartnerInvite.used_at.is_not(None)))  # fmt: skip
    assert used == codes.count(201)  # an invite is spent only by a clerk who joined
