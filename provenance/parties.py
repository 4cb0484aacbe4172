"""Parties: registering them, listing them, and finding the party an EPCIS id names.

A party is named in documents by ``urn:party:{id}``, by its GLN (``https://id.gs1.org/414/{gln}``
or the SGLN ``urn:epc:id:sgln:{company}.{location}.0``), or by the id it was imported under from
another installation's master data (kept in ``uri``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from accounts.models import Brand
from anticounterfeit.gs1 import gtin_check_digit
from core import audit
from core.audit import CLI, Actor
from core.db import db, new_id
from core.queries import get_for_brand, page
from provenance.claims import decode_public_key
from provenance.errors import DuplicateParty, InvalidPublicKey, UnknownParty
from provenance.models import Party, PartyRole
from provenance.story_cache import provenance_changed

PARTY_URN = "urn:party:"
GLN_URI = "https://id.gs1.org/414/"
SGLN_URN = "urn:epc:id:sgln:"


@dataclass(frozen=True)
class LocationInput:
    """Where a party works."""

    name: str
    lat: float
    lng: float
    country: str
    province: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class PartyInput:
    """A party as the console registers it (``uri``: the id another installation gave it)."""

    name: str
    role: PartyRole
    location: LocationInput
    public_key: str | None = None
    gln: str | None = None
    uri: str | None = None


def party_row(brand_id: uuid.UUID, data: PartyInput) -> Party:
    """A new party row (not added to the session)."""
    party_id = new_id()
    loc = data.location
    return Party(
        id=party_id, brand_id=brand_id, uri=data.uri or f"{PARTY_URN}{party_id}", name=data.name,
        role=data.role, location_name=loc.name, lat=loc.lat, lng=loc.lng, country=loc.country,
        province=loc.province, city=loc.city, gln=data.gln, public_key=data.public_key,
    )  # fmt: skip


def _check_key(public_key: str | None) -> None:
    if public_key is not None:
        try:
            decode_public_key(public_key)
        except ValueError as exc:
            raise InvalidPublicKey() from exc


def create_party(brand: Brand, data: PartyInput, *, actor: Actor = CLI) -> Party:
    """Register a party of the brand's supply chain (audited: ``party.create``; its key signs
    the claims shoppers see as verified)."""
    _check_key(data.public_key)
    if data.gln and db.session.scalar(
        select(Party.id).where(Party.brand_id == brand.id, Party.gln == data.gln)
    ):
        raise DuplicateParty()
    party = party_row(brand.id, data)
    if db.session.scalar(
        select(Party.id).where(Party.brand_id == brand.id, Party.uri == party.uri)
    ):
        raise DuplicateParty()
    db.session.add(party)
    db.session.flush()
    provenance_changed(brand.id)
    audit.record(brand.id, actor, "party.create", f"party:{party.id}", {
        "name": party.name, "role": getattr(party.role, "value", party.role), "uri": party.uri,
        "gln": party.gln, "signs_claims": party.public_key is not None,
    })  # fmt: skip
    return party


def list_parties(brand: Brand, number: int, size: int) -> tuple[list[Party], int]:
    """The brand's parties, oldest first."""
    query = select(Party).where(Party.brand_id == brand.id).order_by(Party.created_at, Party.id)
    return page(query, number, size)


def get_party(brand: Brand, party_id: str) -> Party:
    """One party of the brand."""
    return get_for_brand(Party, party_id, brand.id, UnknownParty)


def gln_of(ref: str) -> str | None:
    """The GLN an id names, if it is a GLN Digital Link or an SGLN with extension 0."""
    if ref.startswith(GLN_URI):
        gln = ref[len(GLN_URI) :]
        return gln if len(gln) == 13 and gln.isdigit() else None
    if ref.startswith(SGLN_URN):
        parts = ref[len(SGLN_URN) :].split(".")
        body = "".join(parts[:2])
        if len(parts) == 3 and parts[2] == "0" and len(body) == 12 and body.isdigit():
            return body + str(gtin_check_digit(body))
    return None


def is_party_ref(ref: str) -> bool:
    """Whether an id is in one of the forms that name a party."""
    return ref.startswith(PARTY_URN) or gln_of(ref) is not None


class PartyResolver:
    """Finds parties by the ids documents and claims use, one query per distinct id."""

    def __init__(self, brand_id: uuid.UUID) -> None:
        self.brand_id = brand_id
        self._found: dict[str, Party | None] = {}

    def add(self, party: Party) -> None:
        """Make a party created during this capture resolvable."""
        self._found[party.uri] = party

    def find(self, ref: str) -> Party | None:
        """The party ``ref`` names in this brand, or None."""
        if ref not in self._found:
            self._found[ref] = self._query(ref)
        return self._found[ref]

    def find_claimant(self, party_ref: str) -> Party | None:
        """The party a claim's ``party_id`` names: a party id, or any document form."""
        try:
            return self.find(f"{PARTY_URN}{uuid.UUID(party_ref)}")
        except ValueError:
            return self.find(party_ref)

    def _query(self, ref: str) -> Party | None:
        gln = gln_of(ref)
        condition: Any = Party.uri == ref
        if gln is not None:
            condition = or_(condition, Party.gln == gln)
        return db.session.scalar(
            select(Party).where(Party.brand_id == self.brand_id, condition).limit(1)
        )
