"""The audit log: sensitive staff actions with who, when, from where and what (secrets
redacted), listed for owners, append-only, and exported as the ``audit`` stream."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import campaign_body

IP = "198.51.100.7"


def _log(client: FlaskClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit-log", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(response.get_json())


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def test_sensitive_actions_are_logged_with_who_when_where(
    app: Any, make_codes: Any, make_staff: Any, bearer: Any
) -> None:
    from core.db import db
    from fraud.models import Block, CaseKind, FraudCase

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = IP
    c = make_codes(5, active=False)
    owner, brand = c.owner, c.brand
    operator = make_staff(brand, "operator")
    case = FraudCase(brand_id=brand.id, kind=CaseKind.device, subject="dev-1")
    block = Block(brand_id=brand.id, kind=CaseKind.ip, subject="203.0.113.1", reason="x")
    db.session.add_all([case, block])
    db.session.flush()
    h, op = bearer(owner), bearer(operator)
    batch = f"/api/v1/code-batches/{c.batch.id}"
    _ok(client.post(f"{batch}/activate", headers=op))
    _ok(client.get(f"{batch}/export", headers=op)).get_data()
    _ok(client.get(f"{batch}/labels.svg", query_string={"count": 2}, headers=op))
    _ok(client.post("/api/v1/code-keys/rotate", headers=h), 201)
    created = _ok(client.post("/api/v1/campaigns", json=campaign_body(), headers=h), 201)
    cid = created.get_json()["id"]
    _ok(client.patch(f"/api/v1/campaigns/{cid}", json={"name": "Winter"}, headers=h))
    for action in ("activate", "pause", "end"):
        _ok(client.post(f"/api/v1/campaigns/{cid}/{action}", headers=h))
    _ok(client.post(f"/api/v1/fraud/cases/{case.id}/resolve",
                    json={"decision": "release", "note": "checked"}, headers=op))  # fmt: skip
    _ok(client.delete(f"/api/v1/blocks/{block.id}", headers=op), 204)
    _ok(client.patch("/api/v1/fraud/rules/batch_harvest", json={"weight": 5}, headers=h))
    new = _ok(client.post("/api/v1/staff", json={"email": "a@x.test", "password": "long-enough-1",
                                                 "role": "analyst"}, headers=h), 201)  # fmt: skip
    _ok(client.post(f"/api/v1/staff/{new.get_json()['id']}/deactivate", headers=h))
    _ok(client.patch("/api/v1/brand", json={"name": "新名", "wechat_secret": "s3cr3t-value"},
                     headers=h))  # fmt: skip
    partner = _ok(client.post("/api/v1/partners", json={"kind": "store", "name": "门店",
                  "province": "上海市", "city": "上海市"}, headers=op), 201)  # fmt: skip
    invite = _ok(client.post(f"/api/v1/partners/{partner.get_json()['id']}/invites", headers=op),
                 201)  # fmt: skip
    _ok(client.post(f"{batch}/revoke", json={"reason": "leaked"}, headers=op))

    log = _log(client, h, page_size=500)
    actions = [e["action"] for e in reversed(log) if e["staff_id"] is not None]
    assert actions == [
        "batch.activate", "codes.export", "codes.labels", "keys.rotate", "campaign.create",
        "campaign.update", "campaign.activate", "campaign.pause", "campaign.end",
        "fraud.resolve", "fraud.unblock", "fraud.rule_update", "staff.create", "staff.update",
        "brand.update", "partner.create", "partner.invite", "batch.revoke",
    ]  # fmt: skip
    by_action = {e["action"]: e for e in log}
    assert all(e["ip"] == IP and e["at"].endswith("+00:00") for e in log if e["staff_id"])
    assert by_action["codes.export"]["staff_id"] == str(operator.id)
    assert by_action["codes.export"]["target"] == f"code_batch:{c.batch.id}"
    assert by_action["codes.labels"]["changes"]["codes"] == 2
    assert by_action["batch.revoke"]["changes"]["reason"] == "leaked"
    assert by_action["campaign.update"]["changes"]["name"] == "Winter"
    assert by_action["fraud.resolve"]["changes"]["decision"] == "release"
    assert by_action["staff.update"]["changes"]["active"] == [True, False]
    assert by_action["brand.update"]["changes"]["name"] == "新名"
    everything = json.dumps(log, ensure_ascii=False)
    assert "s3cr3t-value" not in everything and "long-enough-1" not in everything
    assert invite.get_json()["invite_code"] not in everything
    # filters: action, staff, days; owner only
    assert [e["action"] for e in _log(client, h, action="keys.rotate")] == ["keys.rotate"]
    mine = _log(client, h, staff_id=str(operator.id))
    assert mine and all(e["staff_id"] == str(operator.id) for e in mine)
    today = log[0]["at"][:10]
    assert len(_log(client, h, page_size=500, **{"from": today, "to": today})) == len(log)
    assert _log(client, h, **{"from": "2000-01-01", "to": "2000-01-02"}) == []
    response = client.get("/api/v1/audit-log", query_string={"page_size": 2}, headers=h)
    assert json.loads(response.headers["X-Pagination"])["total"] == len(log)
    assert len(response.get_json()) == 2
    denied = client.get("/api/v1/audit-log", headers=op)
    assert denied.status_code == 403 and denied.get_json()["reason"] == "role_forbidden"


def test_the_audit_log_is_append_only(app: Any, make_brand: Any) -> None:
    from sqlalchemy import select

    from core.audit import AppendOnly, AuditEntry
    from core.db import db

    owner = make_brand()  # creating the owner is logged (staff.create, from the command line)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.brand_id == owner.brand_id))
    assert entry is not None and entry.action == "staff.create" and entry.staff_id is None
    entry.action = "nothing.happened"
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    owner = make_brand()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.brand_id == owner.brand_id))
    db.session.delete(entry)
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()


@pytest.mark.realservices
@pytest.mark.usefixtures("committed")
def test_postgres_refuses_updates_and_deletes_of_the_audit_log(make_brand: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from core.db import db

    make_brand()
    db.commit()
    assert db.engine is not None
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1


@pytest.mark.usefixtures("committed")
def test_the_audit_stream_exports_entries(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from core.audit import Actor, record
    from core.db import db
    from tests.exports.conftest import read_all

    owner = make_brand()
    record(owner.brand_id, Actor(owner.id, IP), "keys.rotate", "code_key:1",
           {"api_key": "secret", "key_id": 7})  # fmt: skip
    db.commit()
    entries = read_all(client, bearer(owner), "audit")
    rotate = next(e for e in entries if e["action"] == "keys.rotate")
    assert rotate["changes"] == {"api_key": "[redacted]", "key_id": 7}
    assert rotate["staff_id"] == str(owner.id) and rotate["ip"] == IP and rotate["audit_id"]


def test_cancelling_an_award_is_logged(
    app: Any, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    from campaigns import service
    from campaigns.schemas import CampaignCreateSchema

    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = IP
    c = make_codes(3)
    campaign = service.create_campaign(
        c.brand, CampaignCreateSchema().load(campaign_body("points")), c.owner
    )
    service.transition(c.brand, str(campaign.id), "activate")
    shopper = make_consumer(c.brand)
    scan = _ok(client.post("/api/v1/scans", json={"code": c.urls[0]}, headers=bearer(shopper)))
    [reward] = scan.get_json()["rewards"]
    _ok(client.post(f"/api/v1/awards/{reward['award_id']}/cancel", json={"reason": "duplicate"},
                    headers=bearer(c.owner)))  # fmt: skip
    [entry] = _log(client, bearer(c.owner), action="award.cancel")
    assert entry["target"] == f"award:{reward['award_id']}" and entry["ip"] == IP
    assert entry["staff_id"] == str(c.owner.id) and entry["changes"]["reason"] == "duplicate"
    assert {e["action"] for e in _log(client, bearer(c.owner))} >= {
        "campaign.create", "campaign.activate", "award.cancel"
    }  # the service calls without an actor are the command line's: no staff, no address
