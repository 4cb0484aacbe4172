"""Segments: rules in SQL, published counts, suppression, differencing, bad input."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.profiles.synthetic import at, plant
from tests.test_app import assert_envelope
from tests.workers import run_workers

HANGZHOU = ("浙江省", "杭州市")
SHANGHAI = ("上海市", "上海市")


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""


@pytest.fixture
def shop(make_codes: Any, make_staff: Any, bearer: Any) -> Any:
    """A brand with a product, and a marketer's headers."""
    codes = make_codes(1)
    marketer = make_staff(codes.brand, "marketer")
    return type("Shop", (), {"brand": codes.brand, "owner": codes.owner,
                             "product_id": codes.batch.product_id,
                             "headers": bearer(marketer)})()  # fmt: skip


def _create(client: FlaskClient, shop: Any, rule: Any, name: str = "s") -> Any:
    return client.post("/api/v1/segments", json={"name": name, "rule": rule}, headers=shop.headers)


def _cells(body: dict[str, Any], dimension: str) -> dict[str, Any]:
    return {c["key"]: c["size"] for c in body["breakdown"][dimension]}


def test_size_and_breakdowns_are_published_rounded(client: FlaskClient, shop: Any) -> None:
    plant(shop.brand, 45, place=HANGZHOU, product_id=shop.product_id, rating=4.6,
          interests=("绿茶",))  # fmt: skip
    plant(shop.brand, 23, place=HANGZHOU, rating=2.0, first_days_ago=5, last_days_ago=5)
    plant(shop.brand, 30, place=SHANGHAI, rating=4.6)
    response = _create(client, shop, {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["size"], body["suppressed"]) == (60, False)  # 68 people, published as 60
    assert _cells(body, "lifecycle") == {"new": 20, "active": 40, "lapsing": None, "lapsed": None}
    assert _cells(body, "rating") == {"1": None, "2": 20, "3": None, "4": None, "5": 40,
                                      "none": None}  # fmt: skip
    provinces = _cells(body, "province")
    assert provinces["浙江省"] == 60 and provinces["上海市"] is None and len(provinces) == 34
    assert _cells(body, "product") == {str(shop.product_id): 40}
    assert _cells(body, "interest") == {"绿茶": 40}
    got = client.get(f"/api/v1/segments/{body['id']}", headers=shop.headers).get_json()
    assert got["size"] == 60 and got["rule"] == body["rule"]
    listed = client.get("/api/v1/segments", headers=shop.headers).get_json()
    assert [s["id"] for s in listed] == [body["id"]]


def test_small_segments_are_suppressed_whole(client: FlaskClient, shop: Any) -> None:
    plant(shop.brand, 19, place=HANGZHOU, rating=5.0, interests=("绿茶",))
    body = _create(client, shop, {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})
    body = body.get_json()
    assert (body["size"], body["suppressed"]) == (None, True)
    for dimension in ("province", "product", "lifecycle", "rating"):
        assert all(c["suppressed"] and c["size"] is None for c in body["breakdown"][dimension])
    assert body["breakdown"]["interest"] == []


def test_min_segment_size_is_a_brand_setting_never_below_10(
    client: FlaskClient, shop: Any, bearer: Any
) -> None:
    plant(shop.brand, 35, place=HANGZHOU)
    rule = {"all": [{"field": "province", "op": "eq", "value": "浙江省"}]}
    owner = bearer(shop.owner)
    response = client.patch("/api/v1/brand", json={"settings": {"min_segment_size": 5}},
                            headers=owner)  # fmt: skip
    assert_envelope(response, 422, "validation_error")
    assert _create(client, shop, rule).get_json()["size"] == 20  # default k = 20
    response = client.patch("/api/v1/brand", json={"settings": {"min_segment_size": 10}},
                            headers=owner)  # fmt: skip
    assert response.status_code == 200
    assert _create(client, shop, rule).get_json()["size"] == 30


def test_a_differencing_attack_from_two_segments_learns_nothing(
    client: FlaskClient, shop: Any
) -> None:
    """The analyst knows when the target first scanned and tries to read their rating off the
    difference between "everyone in Hangzhou" and "everyone in Hangzhou but the target"."""
    plant(shop.brand, 44, place=HANGZHOU, rating=4.8, first_days_ago=60)
    plant(shop.brand, 1, place=HANGZHOU, rating=1.0, first_days_ago=50)  # the target
    city = {"field": "city", "op": "eq", "value": "杭州市"}
    everyone = {"all": [city]}
    but_target = {"all": [city, {"any": [
        {"field": "first_scan_at", "op": "lte", "value": at(55).isoformat()},
        {"field": "first_scan_at", "op": "gte", "value": at(45).isoformat()},
    ]}]}  # fmt: skip
    a = _create(client, shop, everyone, "a").get_json()
    b = _create(client, shop, but_target, "b").get_json()
    assert (a["size"], b["size"]) == (40, 40)  # exact sizes 45 and 44: no difference shows
    for dimension in ("rating", "lifecycle", "province", "product", "interest"):
        assert a["breakdown"][dimension] == b["breakdown"][dimension], dimension
    numbers = [a["size"], b["size"]] + [
        c["size"] for body in (a, b) for cells in body["breakdown"].values() for c in cells
        if c["size"] is not None
    ]  # fmt: skip
    assert all(x == y or abs(x - y) >= 20 for x in numbers for y in numbers)


def _reference(profile: dict[str, Any], rule: dict[str, Any]) -> bool:
    """A plain-Python evaluation of a rule over one synthetic profile (the SQL's oracle)."""
    mode, items = next(iter(rule.items()))
    results = [
        _reference(profile, item) if ("all" in item or "any" in item) else _match(profile, item)
        for item in items
    ]
    return all(results) if mode == "all" else any(results)


def _match(profile: dict[str, Any], c: dict[str, Any]) -> bool:
    value = profile[c["field"]]
    wanted = c["value"]
    if c["op"] in ("eq", "scanned"):
        return wanted in value if isinstance(value, set) else value == wanted
    if c["op"] == "in":
        return bool(value & set(wanted)) if isinstance(value, set) else value in wanted
    if value is None:
        return False
    if c["op"] == "gte":
        return bool(value >= wanted)
    if c["op"] == "lte":
        return bool(value <= wanted)
    return bool(wanted[0] <= value <= wanted[1])


def test_rules_compile_to_sql_that_matches_a_reference(shop: Any, make_codes: Any) -> None:
    """Random profiles and random nested rules: the SQL selects exactly the reference's set
    (run embedded on SQLite and against PostgreSQL: both give the same answers)."""
    from core.db import db, utcnow
    from profiles.derived.lifecycle import stage
    from profiles.segments.evaluate import members
    from profiles.segments.rules import parse

    rng = random.Random(13)
    other = make_codes(1, owner=shop.owner, gtin="06901234567809").batch.product_id
    places = [HANGZHOU, SHANGHAI, ("广东省", "广州市")]
    profiles: dict[Any, dict[str, Any]] = {}
    for _ in range(60):
        place, pid = rng.choice(places), rng.choice([shop.product_id, other])
        rating = rng.choice([None, 1.0, 2.5, 3.0, 4.2, 5.0])
        first, last = rng.choice([3, 20, 100, 400]), rng.choice([1, 2, 100, 200])
        last = min(first, last)
        interests = tuple(rng.sample(["tea", "gift", "绿茶"], rng.randint(0, 2)))
        scans, ratio = rng.randint(0, 5), rng.choice([0.0, 0.5, 1.0])
        (cid,) = plant(shop.brand, 1, place=place, product_id=pid, category=f"cat-{pid == other}",
                       rating=rating, first_days_ago=first, last_days_ago=last, scans_90d=scans,
                       reward_ratio=ratio, interests=interests)  # fmt: skip
        profiles[cid] = {
            "province": {place[0]}, "city": {place[1]}, "product_id": {str(pid)},
            "category": {f"cat-{pid == other}"}, "interest": set(interests),
            "rating_avg": rating, "scans_90d": scans, "reward_ratio": ratio,
            "lifecycle": stage(at(first), at(last), utcnow()), "first_days": first,
        }  # fmt: skip
    conditions = [
        {"field": "city", "op": "eq", "value": "杭州市"},
        {"field": "province", "op": "in", "value": ["上海市", "广东省"]},
        {"field": "product_id", "op": "scanned", "value": str(other)},
        {"field": "category", "op": "in", "value": ["cat-False"]},
        {"field": "interest", "op": "eq", "value": "绿茶"},
        {"field": "lifecycle", "op": "in", "value": ["new", "lapsing"]},
        {"field": "scans_90d", "op": "between", "value": [1, 3]},
        {"field": "rating_avg", "op": "gte", "value": 3},
        {"field": "reward_ratio", "op": "lte", "value": 0.5},
    ]
    for _ in range(25):
        picked = rng.sample(conditions, rng.randint(1, 4))
        nested = {"any": rng.sample(conditions, 2)}
        rule = {rng.choice(["all", "any"]): [*picked, nested]}
        expected = {cid for cid, p in profiles.items() if _reference(p, rule)}
        got = set(db.session.scalars(members(parse(rule), shop.brand.id, utcnow())))
        assert got == expected, rule


def _deep(levels: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]}
    for _ in range(levels):
        rule = {"all": [rule]}
    return rule


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ({"all": [{"field": "openid", "op": "eq", "value": "x"}]}, "invalid_rule"),
        ({"all": [{"field": "city", "op": "like", "value": "杭%"}]}, "invalid_rule"),
        ({"all": [{"field": "city", "op": "gte", "value": "a"}]}, "invalid_rule"),
        ({"all": [{"field": "rating_avg", "op": "gte", "value": 9}]}, "invalid_rule"),
        ({"all": [{"field": "rating_avg", "op": "between", "value": [4, 2]}]}, "invalid_rule"),
        ({"all": [{"field": "scans_90d", "op": "gte", "value": True}]}, "invalid_rule"),
        ({"all": [{"field": "lifecycle", "op": "eq", "value": "dead"}]}, "invalid_rule"),
        ({"all": [{"field": "first_scan_at", "op": "gte", "value": "yesterday"}]}, "invalid_rule"),
        ({"all": [{"field": "product_id", "op": "eq", "value": "not-a-uuid"}]}, "invalid_rule"),
        (
            {
                "all": [
                    {
                        "field": "product_id",
                        "op": "eq",
                        "value": "01234567-89ab-7def-8123-456789abcdef",
                    }
                ]
            },
            "invalid_rule",
        ),
        ({"all": [{"field": "city", "op": "in", "value": ["x"] * 101}]}, "invalid_rule"),
        ({"all": [{"field": "city", "op": "eq", "value": "x", "extra": 1}]}, "invalid_rule"),
        ({"all": []}, "invalid_rule"),
        ({"none": [{"field": "city", "op": "eq", "value": "x"}]}, "invalid_rule"),
        ({"all": [1]}, "invalid_rule"),
        (_deep(6), "rule_too_large"),
        ({"any": [{"field": "city", "op": "eq", "value": "x"}] * 10_000}, "rule_too_large"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_written(
    client: FlaskClient, shop: Any, rule: Any, reason: str
) -> None:
    from core.db import db
    from profiles.models import Segment

    assert_envelope(_create(client, shop, rule), 422, reason)
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0


def test_a_rule_nested_100_deep_is_refused(client: FlaskClient, shop: Any) -> None:
    """The JSON parser at the edge refuses it (400) before the rule check would (422)."""
    from core.db import db
    from profiles.errors import RuleTooLarge
    from profiles.models import Segment
    from profiles.segments.rules import parse

    response = _create(client, shop, _deep(100))
    assert response.status_code in (400, 422) and response.get_json()["reason"] in (
        "malformed_json", "rule_too_large")  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0
    with pytest.raises(RuleTooLarge):
        parse(_deep(100))  # and the service refuses it too, without recursing 100 deep


def test_who_may_see_segments(
    client: FlaskClient, shop: Any, make_brand: Any, make_staff: Any, make_consumer: Any,
    bearer: Any,
) -> None:  # fmt: skip
    rule = {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]}
    created = _create(client, shop, rule).get_json()
    path = f"/api/v1/segments/{created['id']}"
    analyst = bearer(make_staff(shop.brand, "analyst"))
    assert client.get(path, headers=analyst).status_code == 200
    assert client.post("/api/v1/segments", json={"name": "a", "rule": rule},
                       headers=analyst).status_code == 201  # fmt: skip
    operator = bearer(make_staff(shop.brand, "operator"))
    assert_envelope(client.get(path, headers=operator), 403, "role_forbidden")
    stranger = bearer(make_brand())
    assert_envelope(client.get(path, headers=stranger), 404, "not_found")
    assert_envelope(client.get("/api/v1/segments/nonsense", headers=stranger), 404, "not_found")
    shopper = bearer(make_consumer(shop.brand))
    for url in (path, "/api/v1/segments", "/api/v1/segments/discovered"):
        assert_envelope(client.get(url, headers=shopper), 403, "wrong_token_kind")
    response = client.post("/api/v1/segments", json={"name": "x", "rule": rule}, headers=shopper)
    assert_envelope(response, 403, "wrong_token_kind")


def test_membership_for_targeting_needs_marketing_consent(shop: Any) -> None:
    from core.db import db
    from profiles.models import Segment
    from profiles.segments import members

    consenting = plant(shop.brand, 3, place=HANGZHOU, marketing=True)
    plant(shop.brand, 4, place=HANGZHOU)
    segment = Segment(brand_id=shop.brand.id, name="hz",
                      rule={"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})  # fmt: skip
    db.session.add(segment)
    db.session.flush()
    assert members.refresh(segment.id) == 3
    assert members.is_member(consenting[0], frozenset({segment.id}))
    members.leave_all(consenting[0])
    assert not members.is_member(consenting[0], frozenset({segment.id}))


def test_the_demo_seeds_consumers_and_a_segment(app: Any, client: FlaskClient, bearer: Any) -> None:
    from accounts.models import Brand
    from core.db import db
    from profiles.models import ConsumerProfile, Feedback, Preference, Segment

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    run_workers()  # with real Redis, the profile jobs wait for a worker
    brand = db.session.scalar(select(Brand).where(Brand.slug == "demo"))
    segment = db.session.scalar(select(Segment).where(Segment.brand_id == brand.id))
    assert segment is not None
    assert db.session.scalar(select(func.count()).select_from(ConsumerProfile)) == 30
    assert db.session.scalar(select(func.count()).select_from(Feedback)) == 15
    assert db.session.scalar(select(func.count()).select_from(Preference)) == 30
    from accounts.models import StaffUser

    owner = db.session.scalar(select(StaffUser).where(StaffUser.brand_id == brand.id))
    body = client.get(f"/api/v1/segments/{segment.id}", headers=bearer(owner)).get_json()
    assert body["size"] == 20  # the 20 shoppers who scanned in Hangzhou


def test_the_list_shows_each_segment_as_of_its_last_refresh(client: FlaskClient, shop: Any) -> None:
    """A page of segments costs no evaluation: the membership refresh (at creation and every 5
    minutes) stores the exact counts, the list publishes them; one segment is computed live."""
    from core.db import db
    from profiles.models import Segment
    from profiles.segments import members

    plant(shop.brand, 45, place=HANGZHOU)
    created = _create(client, shop, {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]})
    segment = db.session.get(Segment, uuid.UUID(created.get_json()["id"]))
    assert segment is not None
    members.refresh(segment.id)  # what the job sent after the creation does
    refreshed = segment.counted_at
    plant(shop.brand, 30, place=HANGZHOU)  # 75 people now
    [listed] = client.get("/api/v1/segments", headers=shop.headers).get_json()
    assert listed["size"] == 40 and listed["computed_at"] == refreshed.isoformat()
    assert _cells(listed, "province")["浙江省"] == 40
    live = client.get(f"/api/v1/segments/{segment.id}", headers=shop.headers).get_json()
    assert live["size"] == 60
    members.refresh(segment.id)
    [listed] = client.get("/api/v1/segments", headers=shop.headers).get_json()
    assert listed["size"] == 60


def test_creating_a_segment_is_audited(client: FlaskClient, shop: Any, bearer: Any) -> None:
    """A segment decides whom campaigns reach: who made it, from where, with which rule."""
    rule = {"all": [{"field": "city", "op": "eq", "value": "杭州市"}]}
    created = _create(client, shop, rule, name="杭州").get_json()
    log = client.get("/api/v1/audit-log?action=segment.create", headers=bearer(shop.owner))
    [entry] = log.get_json()
    assert entry["target"] == f"segment:{created['id']}" and entry["staff_id"] is not None
    assert entry["staff_id"] != str(shop.owner.id)  # the marketer who made it
    assert entry["changes"] == {"name": "杭州", "rule": rule} and entry["ip"]
