"""Capture: stored whole or not at all; every bad input is a 422 ``invalid_epcis`` saying what."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

BASE = "https://qr.example.test"
CAPTURE = "/api/v1/epcis/capture"


def _count() -> tuple[int, int, int, int]:
    from core.db import db
    from provenance.models import Claim, Event, EventLot, Lot

    return tuple(db.session.query(m).count() for m in (Event, EventLot, Claim, Lot))  # type: ignore[return-value]


@pytest.fixture
def post(client: Any, chain: Any, make_staff: Any, bearer: Any) -> Any:
    headers = bearer(make_staff(chain.brand, "operator"))

    def send(document: Any, **extra: Any) -> Any:
        return client.post(CAPTURE, data=json.dumps(document), headers={
            **headers, "Content-Type": "application/ld+json", **extra})  # fmt: skip

    return send


def test_capture_stores_the_journey(post: Any, chain: Any) -> None:
    response = post(chain.document())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["captured"] == 6 and len(body["event_ids"]) == 6
    assert body["event_ids"][0].startswith("urn:uuid:0b6f")
    # The biochemist's claim is unsigned: stored, and reported as unverified.
    [warning] = body["warnings"]
    assert warning["problem"] == "claim_unverified" and warning["path"].endswith("/1/claims/0")
    assert _count() == (6, 11, 2, 6)


def test_marketer_may_not_capture(client: Any, chain: Any, make_staff: Any, bearer: Any) -> None:
    headers = bearer(make_staff(chain.brand, "marketer"))
    response = client.post(CAPTURE, json=chain.document(), headers=headers)
    assert response.status_code == 403 and response.get_json()["reason"] == "role_forbidden"


def _event(doc: dict[str, Any], i: int) -> dict[str, Any]:
    event: dict[str, Any] = doc["epcisBody"]["eventList"][i]
    return event


def _unknown_lot(doc: dict[str, Any]) -> None:
    _event(doc, 4)["inputQuantityList"][0]["epcClass"] = (
        "https://id.gs1.org/01/06901234567946/10/NOPE"
    )


def _unknown_party(doc: dict[str, Any]) -> None:
    _event(doc, 2)["bizLocation"]["id"] = "urn:party:00000000-0000-0000-0000-000000000000"


def _future(doc: dict[str, Any]) -> None:
    _event(doc, 5)["eventTime"] = "2099-01-01T00:00:00Z"


def _no_actor(doc: dict[str, Any]) -> None:
    del _event(doc, 3)["bizLocation"]


def _photo(doc: dict[str, Any]) -> None:
    _event(doc, 0)["yiwuyima:photos"] = [{"url": "javascript:alert(1)"}]


def _schema(doc: dict[str, Any]) -> None:
    del _event(doc, 0)["action"]


def _no_quantity(doc: dict[str, Any]) -> None:
    del _event(doc, 1)["quantityList"][0]["quantity"]


def _unknown_source(doc: dict[str, Any]) -> None:
    _event(doc, 5)["sourceList"][0]["source"] = "urn:party:unknown"


def _self_cycle(doc: dict[str, Any]) -> None:
    fill = _event(doc, 4)
    fill["outputQuantityList"].append(copy.deepcopy(fill["inputQuantityList"][0]))


def _twice(doc: dict[str, Any]) -> None:
    doc["epcisBody"]["eventList"].append(copy.deepcopy(_event(doc, 0)))


@pytest.mark.parametrize(("spoil", "problem", "where"), [
    (_unknown_lot, "unknown_lot", "/epcisBody/eventList/4/inputQuantityList/0"),
    (_unknown_party, "unknown_party", "/epcisBody/eventList/2/bizLocation/id"),
    (_future, "future_event_time", "/epcisBody/eventList/5/eventTime"),
    (_no_actor, "missing_actor", "/epcisBody/eventList/3"),
    (_photo, "broken_photo_url", "/epcisBody/eventList/0/photos/0"),
    (_schema, "schema", "/epcisBody/eventList/0"),
    (_no_quantity, "missing_quantity", "/epcisBody/eventList/1/quantityList/0"),
    (_unknown_source, "unknown_party", "/epcisBody/eventList/5/sourceList/0"),
    (_self_cycle, "cycle", "/epcisBody/eventList/4"),
    (_twice, "duplicate_event", "/epcisBody/eventList/6/eventID"),
])  # fmt: skip
def test_bad_documents_are_refused_whole(post: Any, chain: Any, spoil: Any, problem: str,
                                         where: str) -> None:  # fmt: skip
    document = chain.document()
    spoil(document)
    response = post(document)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["reason"] == "invalid_epcis"
    assert {"path": where, "problem": problem} in [
        {"path": p["path"], "problem": p["problem"]} for p in body["errors"]["epcis"]
    ], body["errors"]
    assert _count() == (0, 0, 0, 0)


def test_a_cycle_across_documents_is_refused(post: Any, chain: Any) -> None:
    from provenance.demo import BASE as FB
    from provenance.demo import RAW_MILK

    assert post(chain.document()).status_code == 201
    before = _count()
    back = chain.document("1c1c")
    loop = _event(back, 2)  # the drying run, reversed: raw milk made from the formula base
    loop["inputQuantityList"] = [{"epcClass": f"https://id.gs1.org/01/{FB}/10/FB-1002",
                                  "quantity": 10, "uom": "KGM"}]  # fmt: skip
    loop["outputQuantityList"] = [{"epcClass": f"https://id.gs1.org/01/{RAW_MILK}/10/RM-0915",
                                   "quantity": 10, "uom": "KGM"}]  # fmt: skip
    back["epcisBody"]["eventList"] = [loop]
    response = post(back)
    assert response.status_code == 422
    assert response.get_json()["errors"]["epcis"][0]["problem"] == "cycle"
    assert _count() == before


def test_recapturing_the_same_events_is_refused(post: Any, chain: Any) -> None:
    assert post(chain.document()).status_code == 201
    response = post(chain.document())
    assert response.status_code == 422
    problems = {p["problem"] for p in response.get_json()["errors"]["epcis"]}
    assert problems == {"duplicate_event"}


def test_a_10_mb_document_is_refused_as_invalid_epcis(post: Any, chain: Any) -> None:
    document = chain.document()
    _event(document, 0)["yiwuyima:description"] = "x" * (10 * 1024 * 1024)
    response = post(document)
    body = response.get_json()
    assert response.status_code == 422 and body["reason"] == "invalid_epcis"
    assert body["errors"]["epcis"][0]["problem"] == "too_large"
    assert _count() == (0, 0, 0, 0)


def test_malformed_json_is_a_400(client: Any, chain: Any, bearer: Any) -> None:
    response = client.post(CAPTURE, data=b'{"type": ', headers={
        **bearer(chain.owner), "Content-Type": "application/ld+json"})  # fmt: skip
    assert response.status_code == 400 and response.get_json()["reason"] == "malformed_json"


def test_claims_naming_unknown_parties_are_stored_unverified(post: Any, chain: Any) -> None:
    document = chain.document()
    claim = _event(document, 0)["yiwuyima:claims"][0]
    claim["party_id"] = "urn:party:somebody-else"
    body = post(document).get_json()
    assert [w["message"] for w in body["warnings"]] == ["unknown party", "party has no public key"]
