"""Parties: registered by owners and operators, with an optional Ed25519 public key."""

from __future__ import annotations

import base64
from typing import Any

PARTY = {
    "name": "绿源牧场", "role": "primary_producer",
    "location": {"name": "呼伦贝尔", "lat": 49.21, "lng": 119.77, "country": "CN",
                 "province": "内蒙古自治区"},
}  # fmt: skip


def test_register_and_list(client: Any, make_brand: Any, make_staff: Any, bearer: Any) -> None:
    owner = make_brand()
    headers = bearer(make_staff(owner.brand, "operator"))
    key = base64.b64encode(bytes(range(32))).decode()
    response = client.post("/api/v1/parties", json={**PARTY, "public_key": key}, headers=headers)
    assert response.status_code == 201, response.get_json()
    party = response.get_json()
    assert party["uri"] == f"urn:party:{party['id']}" and party["public_key"] == key
    assert party["location"]["lat"] == 49.21 and party["location"]["name"] == "呼伦贝尔"
    listed = client.get("/api/v1/parties", headers=bearer(owner)).get_json()
    assert [p["id"] for p in listed] == [party["id"]]
    elsewhere = client.get("/api/v1/parties", headers=bearer(make_brand())).get_json()
    assert elsewhere == []


def test_bad_parties(client: Any, make_brand: Any, make_staff: Any, bearer: Any) -> None:
    owner = make_brand()
    headers = bearer(owner)
    bad_key = client.post("/api/v1/parties", json={**PARTY, "public_key": "AAAA"}, headers=headers)
    assert bad_key.status_code == 422 and bad_key.get_json()["reason"] == "invalid_public_key"
    bad_role = client.post("/api/v1/parties", json={**PARTY, "role": "wizard"}, headers=headers)
    assert bad_role.status_code == 422
    far = {**PARTY, "location": {**PARTY["location"], "lat": 91}}  # type: ignore[dict-item]
    assert client.post("/api/v1/parties", json=far, headers=headers).status_code == 422
    analyst = bearer(make_staff(owner.brand, "analyst"))
    refused = client.post("/api/v1/parties", json=PARTY, headers=analyst)
    assert refused.status_code == 403
    assert client.get("/api/v1/parties", headers=analyst).get_json() == []
