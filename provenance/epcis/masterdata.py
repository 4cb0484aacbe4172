"""Parties as EPCIS master data (``BusinessLocation`` vocabulary elements).

Export describes every party its events name, so that another installation can import the
document without registering the parties first; capture registers the parties a document
describes and this brand does not know yet (known parties are never changed by a document).
"""

from __future__ import annotations

import math
from typing import Any

from provenance.claims import decode_public_key
from provenance.epcis.parse import NS, Problems
from provenance.models import Party, PartyRole
from provenance.parties import LocationInput, PartyInput, gln_of

LOCATION_VTYPE = "urn:epcglobal:epcis:vtype:BusinessLocation"
MDA = "urn:epcglobal:cbv:mda#"
ATTRIBUTES = {
    "name": MDA + "name",
    "lat": MDA + "latitude",
    "lng": MDA + "longitude",
    "country": MDA + "countryCode",
    "province": MDA + "state",
    "city": MDA + "city",
    "role": NS + "role",
    "location_name": NS + "locationName",
    "public_key": NS + "publicKey",
}


def vocabulary(parties: list[Party]) -> dict[str, Any]:
    """The BusinessLocation vocabulary describing ``parties``."""
    elements = []
    for p in parties:
        values: dict[str, Any] = {
            "name": p.name, "role": p.role.value, "location_name": p.location_name,
            "lat": p.lat, "lng": p.lng, "country": p.country, "province": p.province,
            "city": p.city, "public_key": p.public_key,
        }  # fmt: skip
        attributes = [
            {"id": ATTRIBUTES[k], "attribute": v} for k, v in values.items() if v is not None
        ]
        elements.append({"id": p.uri, "attributes": attributes})
    return {"type": LOCATION_VTYPE, "vocabularyElementList": elements}


def _attributes(element: dict[str, Any]) -> dict[str, Any]:
    by_id = {a.get("id"): a.get("attribute") for a in element.get("attributes") or []}
    return {k: by_id.get(uri) for k, uri in ATTRIBUTES.items()}


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _text(value: Any, size: int) -> str | None:
    return value.strip()[:size] if isinstance(value, str) and value.strip() else None


def party_input(element: dict[str, Any], pointer: str, problems: Problems) -> PartyInput | None:
    """A party described by one vocabulary element, or None (a problem is recorded)."""
    if len(element["id"]) > 300:
        problems.add(pointer, "bad_master_data", "a party id is at most 300 characters")
        return None
    a = _attributes(element)
    lat, lng = _coordinate(a["lat"], 90), _coordinate(a["lng"], 180)
    name, country = _text(a["name"], 200), _text(a["country"], 2)
    role = a["role"] if a["role"] in PartyRole.__members__ else None
    if None in (lat, lng, name, country, role):
        problems.add(
            pointer, "bad_master_data",
            "a new party needs name, role, latitude, longitude and countryCode attributes",
        )  # fmt: skip
        return None
    assert lat is not None and lng is not None and name and country and role
    public_key = a["public_key"]
    if public_key is not None:
        try:
            decode_public_key(public_key)
        except (ValueError, TypeError):
            problems.add(pointer, "bad_master_data", "publicKey is not a base64 Ed25519 key")
            return None
    location = LocationInput(
        name=_text(a["location_name"], 200) or name, lat=lat, lng=lng, country=country.upper(),
        province=_text(a["province"], 50), city=_text(a["city"], 50),
    )  # fmt: skip
    return PartyInput(name=name, role=PartyRole(role), location=location, public_key=public_key,
                      gln=gln_of(element["id"]), uri=element["id"])  # fmt: skip


def described_parties(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(pointer, element) for each BusinessLocation element of the document's master data (an
    EPCISDocument's header, or an EPCISQueryDocument's results)."""
    if document.get("type") == "EPCISQueryDocument":
        results = document["epcisBody"]["queryResults"]["resultsBody"]
        vocabularies, base = (
            results.get("vocabularyList") or [],
            "/epcisBody/queryResults/resultsBody",
        )
    else:
        master = (document.get("epcisHeader") or {}).get("epcisMasterData") or {}
        vocabularies, base = master.get("vocabularyList") or [], "/epcisHeader/epcisMasterData"
    found = []
    for v, vocab in enumerate(vocabularies):
        if vocab.get("type") != LOCATION_VTYPE:
            continue
        for e, element in enumerate(vocab.get("vocabularyElementList") or []):
            found.append((f"{base}/vocabularyList/{v}/vocabularyElementList/{e}", element))
    return found
