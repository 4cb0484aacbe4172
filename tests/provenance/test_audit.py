"""What shoppers read as their item's story is audited: parties and EPCIS captures."""

from __future__ import annotations

import json
from typing import Any

from tests.provenance.test_parties import PARTY


def test_registering_a_party_and_capturing_events_are_audited(
    client: Any, chain: Any, make_staff: Any, bearer: Any,
) -> None:  # fmt: skip
    operator = make_staff(chain.brand, "operator")
    headers = bearer(operator)
    party = client.post("/api/v1/parties", json=PARTY, headers=headers)
    assert party.status_code == 201, party.get_json()
    captured = client.post("/api/v1/epcis/capture", data=json.dumps(chain.document()), headers={
        **headers, "Content-Type": "application/ld+json"})  # fmt: skip
    assert captured.status_code == 201, captured.get_json()
    owner = bearer(chain.owner)
    log = client.get("/api/v1/audit-log", headers=owner).get_json()
    mine = {e["action"]: e for e in log if e["staff_id"] == str(operator.id)}
    assert set(mine) == {"party.create", "epcis.capture"}
    made = mine["party.create"]
    assert made["target"] == f"party:{party.get_json()['id']}"
    assert made["changes"]["name"] == PARTY["name"] and made["changes"]["signs_claims"] is False
    capture = mine["epcis.capture"]
    event_ids = captured.get_json()["event_ids"]
    assert capture["changes"]["events"] == len(event_ids) == 6
    assert capture["changes"]["event_ids"] == event_ids
    assert capture["target"] == f"epcis_event:{event_ids[0]}"
    # A refused capture stores nothing, its audit entry included.
    again = client.post("/api/v1/epcis/capture", data=json.dumps(chain.document()), headers={
        **headers, "Content-Type": "application/ld+json"})  # fmt: skip
    assert again.status_code == 422
    log = client.get("/api/v1/audit-log?action=epcis.capture", headers=owner).get_json()
    assert len(log) == 1
