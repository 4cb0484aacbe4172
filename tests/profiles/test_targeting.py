"""Campaign targeting by segment: precomputed membership, one lookup per draw."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.profiles.conftest import scan
from tests.profiles.synthetic import plant
from tests.test_app import assert_envelope
from tests.workers import run_workers


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


def test_a_campaign_targeted_at_a_segment_rewards_its_members_only(
    client: FlaskClient, make_codes: Any, make_campaign: Any, bearer: Any
) -> None:
    codes = make_codes(4)
    (member,) = plant(codes.brand, 1, place=("浙江省", "杭州市"), marketing=True)
    (unconsenting,) = plant(codes.brand, 1, place=("浙江省", "杭州市"))
    (outsider,) = plant(codes.brand, 1, place=("上海市", "上海市"), marketing=True)
    owner = bearer(codes.owner)
    rule = {"all": [{"field": "province", "op": "eq", "value": "浙江省"}]}
    segment = client.post("/api/v1/segments", json={"name": "zj", "rule": rule}, headers=owner)
    assert segment.status_code == 201
    run_workers()
    segment_id = segment.get_json()["id"]
    campaign = make_campaign(codes.owner, targeting={"segment_ids": [segment_id]})
    got = client.get(f"/api/v1/campaigns/{campaign.id}", headers=owner).get_json()
    assert got["targeting"]["segment_ids"] == [segment_id]

    from core.db import db
    from profiles.models import Consumer

    def rewards(consumer_id: Any, url: str) -> list[Any]:
        shopper = type("S", (), {"headers": bearer(db.session.get(Consumer, consumer_id))})()
        return list(scan(client, shopper, url)["rewards"])  # type: ignore[arg-type]

    assert len(rewards(member, codes.urls[0])) == 1
    assert rewards(unconsenting, codes.urls[1]) == []  # counted, never targeted without consent
    assert rewards(outsider, codes.urls[2]) == []
    # The member withdraws marketing: the very next scan is no longer targeted (no refresh of
    # the segment in between: consent is what holds at the time of the draw).
    headers = bearer(db.session.get(Consumer, member))
    withdrawn = client.put("/api/v1/me/consents", json={"marketing": False}, headers=headers)
    assert withdrawn.status_code == 200
    assert rewards(member, codes.urls[3]) == []


@pytest.mark.parametrize("segment_id", ["nope", "01234567-89ab-7def-8123-456789abcdef"])
def test_targeting_an_unknown_or_foreign_segment_is_refused(
    client: FlaskClient, make_codes: Any, make_brand: Any, bearer: Any, segment_id: str
) -> None:
    from tests.campaigns.conftest import campaign_body

    codes = make_codes(1)
    body = campaign_body(targeting={"segment_ids": [segment_id]})
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(codes.owner))
    assert_envelope(response, 422, response.get_json()["reason"])
    assert "segment_ids" in str(response.get_json()["errors"])


def test_another_brands_segment_cannot_be_targeted(
    client: FlaskClient, make_codes: Any, make_brand: Any, bearer: Any
) -> None:
    from tests.campaigns.conftest import campaign_body

    other = make_brand()
    rule = {"all": [{"field": "province", "op": "eq", "value": "浙江省"}]}
    theirs = client.post("/api/v1/segments", json={"name": "x", "rule": rule},
                         headers=bearer(other)).get_json()["id"]  # fmt: skip
    codes = make_codes(1)
    body = campaign_body(targeting={"segment_ids": [theirs]})
    response = client.post("/api/v1/campaigns", json=body, headers=bearer(codes.owner))
    assert response.status_code == 422


def test_membership_costs_no_sql_for_shoppers_in_no_segment(make_codes: Any) -> None:
    """The scan path asks for memberships only when a campaign targets segments; it is answered
    from the flags the request has just read from Redis (consents and the segments the shopper
    is in), with no SQL; the refresh that changes someone's memberships forgets their flags, so
    the next request sees it."""
    from sqlalchemy import event

    from core.db import db
    from profiles.flags import consumer_flags
    from profiles.models import Segment
    from profiles.segments import members

    codes = make_codes(1)
    (member,) = plant(codes.brand, 1, place=("浙江省", "杭州市"), marketing=True)
    (counted,) = plant(codes.brand, 1, place=("浙江省", "杭州市"))
    (elsewhere,) = plant(codes.brand, 1, place=("上海市", "上海市"), marketing=True)
    for consumer_id in (member, counted, elsewhere):
        assert not consumer_flags(consumer_id, codes.brand.id).in_segments  # cached: no segment
    segment = Segment(brand_id=codes.brand.id, name="hz",
                      rule={"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})  # fmt: skip
    db.session.add(segment)
    db.session.flush()
    assert members.refresh(segment.id) == 1
    for consumer_id in (member, counted, elsewhere):
        consumer_flags(consumer_id, codes.brand.id)  # what the next request's token check does
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    wanted = frozenset({segment.id})
    assert db.engine is not None
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert members.memberships(counted, wanted) == frozenset()  # no marketing consent
        assert members.memberships(elsewhere, wanted) == frozenset()  # in no segment
        assert statements == []
        assert members.memberships(member, wanted) == {segment.id}  # the flags list them
        assert statements == []
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    segment.rule = {"all": [{"field": "city", "op": "eq", "value": "上海市"}]}
    db.session.flush()
    assert members.refresh(segment.id) == 1  # the member left, the other joined
    assert not consumer_flags(member, codes.brand.id).in_segments
    assert consumer_flags(elsewhere, codes.brand.id).in_segments
    assert members.memberships(elsewhere, wanted) == {segment.id}
    assert members.memberships(member, wanted) == frozenset()
