"""Invites in the console: listed with status, link and QR; revoked; the join page."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.channel.test_partners import _consumer, _partner


def test_invites_list_revoke_and_join_page(client: FlaskClient, make_brand: Any,
                                           bearer: Any) -> None:  # fmt: skip
    owner = make_brand()
    h = bearer(owner)
    partner = _partner(client, h).get_json()
    base = f"/api/v1/partners/{partner['id']}/invites"
    first = client.post(base, headers=h).get_json()
    second = client.post(base, headers=h).get_json()
    assert first["status"] == "active" and first["link"].endswith(f"/join/{first['invite_code']}")
    assert first["qr_svg"].startswith("data:image/svg+xml")
    listed = client.get(base, headers=h).get_json()
    assert {i["id"] for i in listed} == {first["id"], second["id"]}

    page = client.get(f"/join/{first['invite_code']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and partner["name"] in page.get_data(as_text=True)

    revoked = client.post(f"{base}/{first['id']}/revoke", headers=h)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "expired"
    assert revoked.get_json()["qr_svg"] is None
    clerk = _consumer(owner.brand)
    join = client.post("/api/v1/me/partner-memberships", json={"invite_code": first["invite_code"]},
                       headers=bearer(clerk))  # fmt: skip
    assert join.status_code == 409 and join.get_json()["reason"] == "invite_expired"
    assert 'data-invite="expired"' in client.get(f"/join/{first['invite_code']}").get_data(
        as_text=True
    )
    redeem = {"invite_code": second["invite_code"]}
    joined = client.post("/api/v1/me/partner-memberships", json=redeem, headers=bearer(clerk))
    assert joined.status_code == 201
    used = client.post(f"{base}/{second['id']}/revoke", headers=h)
    assert used.status_code == 409 and used.get_json()["reason"] == "invite_used"

    stranger = bearer(make_brand())
    assert client.post(f"{base}/{second['id']}/revoke", headers=stranger).status_code == 404
    assert client.get(base, headers=stranger).status_code == 404
    for unknown in ("NOSUCHCODE", "A%00B", "%F0%9F%98%80" * 10):
        assert client.get(f"/join/{unknown}").status_code == 404
