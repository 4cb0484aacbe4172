"""Reading a schema-valid EPCISDocument into plain events (no database here).

What the schema cannot say is checked here and reported with a JSON pointer: lots must be
class-level lot ids with a quantity, every event needs an actor (``bizLocation``), event times
may not lie in the future, extension values must have the right shape, photo URLs must be
absolute http(s) URLs, claims must carry a statement, a party and a time.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

NS = "https://yiwuyima.dev/epcis#"
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_YEAR = 1900
MAX_ID = 300  # event ids, business steps and party ids are stored in 300 characters
MAX_EVENTS = 5000
_LOT_PATH = re.compile(r"/01/(\d{14})/10/([!-.0-~]{1,20})$")
EXTENSIONS = ("co2eKg", "waterL", "certifications", "photos", "claims", "description")
QUANTITY_LISTS = {
    "ObjectEvent": (("quantityList", None),),
    "AggregationEvent": (("childQuantityList", "observed"),),
    "TransactionEvent": (("quantityList", "observed"),),
    "AssociationEvent": (("childQuantityList", "observed"),),
    "TransformationEvent": (("inputQuantityList", "input"), ("outputQuantityList", "output")),
}


@dataclass
class LotRef:
    gtin: str
    lot: str
    quantity: float
    uom: str | None
    role: str
    pointer: str


@dataclass
class ClaimRef:
    statement: str
    party_ref: str
    issued_at: str
    signature: str | None


@dataclass
class ParsedEvent:
    """One event as capture needs it; ``document`` is what is stored and exported."""

    index: int
    pointer: str
    uri: str
    kind: str
    action: str | None
    biz_step: str | None
    event_time: datetime
    actor_ref: str
    party_refs: list[tuple[str, str]]  # (pointer, party uri) for source/destination
    description: str | None
    co2e_kg: float | None
    water_l: float | None
    certifications: list[str]
    photos: list[dict[str, Any]]
    lots: list[LotRef]
    claims: list[ClaimRef]
    document: dict[str, Any]
    generated_id: bool = False
    ok: bool = True


@dataclass
class Problems:
    """What failed, where; capture refuses the document when there is anything here."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, pointer: str, problem: str, message: str) -> None:
        """Record one failure (at most 50 are kept)."""
        if len(self.items) < 50:
            self.items.append({"path": pointer, "problem": problem, "message": message})


def _prefixes(context: Any) -> set[str]:
    """The compact-IRI prefixes a JSON-LD context maps to our extension namespace."""
    items = context if isinstance(context, list) else [context]
    return {k for c in items if isinstance(c, dict) for k, v in c.items() if v == NS}


def extension(event: dict[str, Any], prefixes: set[str], name: str) -> Any:
    """The value of one of our extension fields, under any prefix the context declares."""
    for key in [NS + name, *(f"{p}:{name}" for p in prefixes)]:
        if key in event:
            return event[key]
    return None


def parse_lot_uri(uri: str, base_url: str) -> tuple[str, str] | None:
    """(gtin, lot) of a class-level lot id in the GS1 or this service's Digital Link form."""
    for origin in ("https://id.gs1.org", base_url.rstrip("/")):
        if uri.startswith(origin + "/"):
            match = _LOT_PATH.match(uri[len(origin) :])
            if match:
                return match.group(1), match.group(2)
    return None


def _number(value: Any, pointer: str, problems: Problems) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value < 1e9:
        problems.add(pointer, "bad_value", "must be a number from 0 to 1e9")
        return None
    return float(value)


def _photos(value: Any, pointer: str, problems: Problems) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(pointer, "bad_value", "photos must be a list of URLs or {url, alt} objects")
        return []
    photos = []
    for i, item in enumerate(value):
        url = item.get("url") if isinstance(item, dict) else item
        alt = item.get("alt") if isinstance(item, dict) else None
        parts = urlsplit(url) if isinstance(url, str) and len(url) <= 1000 else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            problems.add(f"{pointer}/{i}", "broken_photo_url", "not an absolute http(s) URL")
            continue
        photo: dict[str, Any] = {"url": url}
        if isinstance(alt, str) and alt.strip():
            photo["alt"] = alt.strip()[:300]
        photos.append(photo)
    return photos


def _certifications(
    event: dict[str, Any], value: Any, pointer: str, problems: Problems
) -> list[str]:
    names: list[str] = []
    if value is not None:
        ok = isinstance(value, list) and all(
            isinstance(v, str) and 0 < len(v) <= 200 for v in value
        )
        if not ok:
            problems.add(pointer, "bad_value", "certifications must be a list of names")
        else:
            names.extend(value)
    info = event.get("certificationInfo")
    names.extend([info] if isinstance(info, str) else list(info or []))
    return names


def _claims(value: Any, pointer: str, problems: Problems) -> list[ClaimRef]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(pointer, "bad_value", "claims must be a list")
        return []
    claims = []
    for i, item in enumerate(value):
        fields_ok = isinstance(item, dict) and all(
            isinstance(item.get(k), str) and item.get(k)
            for k in ("statement", "party_id", "issued_at")
        )
        signature = item.get("signature") if isinstance(item, dict) else None
        if not fields_ok or (signature is not None and not isinstance(signature, str)):
            problems.add(
                f"{pointer}/{i}", "bad_claim", "a claim needs statement, party_id and issued_at"
            )
            continue
        too_long = len(item["statement"]) > 2000 or len(item["party_id"]) > MAX_ID
        if too_long or len(item["issued_at"]) > 40 or len(signature or "") > 200:
            problems.add(f"{pointer}/{i}", "bad_claim", "a claim field is too long")
            continue
        claims.append(
            ClaimRef(item["statement"], item["party_id"], item["issued_at"], signature or None)
        )  # fmt: skip
    return claims


def _lots(event: dict[str, Any], pointer: str, base_url: str, problems: Problems) -> list[LotRef]:
    kind = event["type"]
    lots = []
    for key, role in QUANTITY_LISTS.get(kind, ()):
        if role is None:
            role = "output" if event.get("action") == "ADD" else "observed"
        for i, element in enumerate(event.get(key) or []):
            where = f"{pointer}/{key}/{i}"
            parsed = parse_lot_uri(element["epcClass"], base_url)
            if parsed is None:
                problems.add(where, "not_a_lot", "epcClass must be a lot id (…/01/{gtin}/10/{lot})")
                continue
            quantity = element.get("quantity")
            number = isinstance(quantity, int | float) and not isinstance(quantity, bool)
            if not number or not 0 < quantity < 1e12:
                problems.add(where, "missing_quantity", "a positive quantity is required")
                continue
            lots.append(LotRef(*parsed, float(quantity), element.get("uom"), role, where))
    if not lots:
        problems.add(pointer, "no_lot", "the event names no lot in a quantity list")
    return lots


def _party_refs(event: dict[str, Any], pointer: str) -> list[tuple[str, str]]:
    refs = []
    for key, inner in (("sourceList", "source"), ("destinationList", "destination")):
        for i, item in enumerate(event.get(key) or []):
            refs.append((f"{pointer}/{key}/{i}", item[inner]))
    return refs


def parse_event(
    event: dict[str, Any], pointer: str, index: int, prefixes: set[str], base_url: str,
    now: datetime, problems: Problems,
) -> ParsedEvent:  # fmt: skip
    """One schema-valid event, checked; its problems go to ``problems`` (and ``ok`` is False),
    but it is returned all the same so that later checks do not report what follows from them
    (the lots a refused event would have made, say)."""
    before = len(problems.items)
    event_time = datetime.fromisoformat(event["eventTime"].replace("z", "Z"))
    if event_time > now + CLOCK_SKEW:
        problems.add(f"{pointer}/eventTime", "future_event_time", "the event time is in the future")
    elif event_time.year < EARLIEST_YEAR:
        problems.add(f"{pointer}/eventTime", "bad_value", f"before {EARLIEST_YEAR}")
    for key in ("eventID", "bizStep"):
        if len(event.get(key) or "") > MAX_ID:
            problems.add(f"{pointer}/{key}", "bad_value", f"longer than {MAX_ID} characters")
    actor = (event.get("bizLocation") or {}).get("id")
    if not actor:
        problems.add(pointer, "missing_actor", "bizLocation (the party that acted) is required")

    def ext(name: str) -> Any:
        return extension(event, prefixes, name)

    description = ext("description")
    if description is not None and not (isinstance(description, str) and len(description) <= 2000):
        problems.add(
            pointer, "bad_value", "description must be a string of at most 2000 characters"
        )
    parsed = ParsedEvent(
        index=index, pointer=pointer, uri=event.get("eventID") or f"urn:uuid:{uuid.uuid4()}",
        kind=event["type"],
        action=event.get("action"), biz_step=event.get("bizStep"), event_time=event_time,
        actor_ref=actor or "", party_refs=_party_refs(event, pointer),
        description=description if isinstance(description, str) else None,
        co2e_kg=_number(ext("co2eKg"), f"{pointer}/co2eKg", problems),
        water_l=_number(ext("waterL"), f"{pointer}/waterL", problems),
        certifications=_certifications(event, ext("certifications"), pointer, problems),
        photos=_photos(ext("photos"), f"{pointer}/photos", problems),
        lots=_lots(event, pointer, base_url, problems),
        claims=_claims(ext("claims"), f"{pointer}/claims", problems),
        document=event, generated_id="eventID" not in event,
    )  # fmt: skip
    parsed.ok = len(problems.items) == before
    return parsed


def stored_document(event: dict[str, Any], uri: str, context: Any) -> dict[str, Any]:
    """The event as stored and exported: its id made explicit, the document's extra context
    (prefix definitions) carried on the event, ``recordTime`` left to the repository."""
    body = {k: v for k, v in event.items() if k != "recordTime"}
    body["eventID"] = uri
    if "@context" not in body:
        items = context if isinstance(context, list) else [context]
        extra = [c for c in items if isinstance(c, dict)]
        if extra:
            body = {"@context": extra, **body}
    return body


def event_list(document: dict[str, Any]) -> tuple[list[Any], str] | None:
    """The events of an EPCISDocument or an EPCISQueryDocument (an export imports as it is),
    with their JSON pointer."""
    if document.get("type") == "EPCISDocument":
        return document["epcisBody"]["eventList"], "/epcisBody/eventList"
    if document.get("type") == "EPCISQueryDocument":
        body = document["epcisBody"]["queryResults"]["resultsBody"]
        return body["eventList"], "/epcisBody/queryResults/resultsBody/eventList"
    return None


def parse_document(
    document: Any, base_url: str, now: datetime
) -> tuple[list[ParsedEvent], Problems]:
    """The events of a schema-valid document and what failed beyond the schema."""
    problems = Problems()
    found = event_list(document)
    if found is None:
        problems.add("/type", "not_a_document", "capture takes an EPCISDocument")
        return [], problems
    events, pointer = found
    if not events:
        problems.add(pointer, "no_events", "the document holds no event")
    if len(events) > MAX_EVENTS:
        problems.add(pointer, "too_many_events", f"at most {MAX_EVENTS} events")
        return [], problems
    context = document.get("@context")
    document_prefixes = _prefixes(context)
    parsed = []
    for index, event in enumerate(events):
        prefixes = document_prefixes | _prefixes(event.get("@context"))
        one = parse_event(event, f"{pointer}/{index}", index, prefixes, base_url, now, problems)
        one.document = stored_document(event, one.uri, context)
        parsed.append(one)
    return parsed, problems
