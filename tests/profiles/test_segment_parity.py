"""The same segments give the same answers on PostgreSQL and SQLite (and match a Python oracle).

One seeded synthetic population is written twice, with the same ids: into the session's
database (PostgreSQL in the real run, SQLite embedded) and into a fresh in-memory SQLite database
migrated like any other. Each rule's exact size and breakdowns (``evaluate``), its published
answer and its members must be equal on both, and equal to a plain-Python evaluation.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
SEED = 1316
PEOPLE = 240
PLACES = [("浙江省", "杭州市"), ("浙江省", "宁波市"), ("上海市", "上海市"), ("广东省", "广州市"),
          ("广东省", "深圳市"), ("四川省", "成都市")]  # fmt: skip
PRODUCTS = [("Longjing", "green"), ("Pu'er", "dark"), ("Biluochun", "green"), ("Cake", "")]
INTERESTS = ["绿茶", "gift", "低糖", "office", "organic"]
RATINGS = [None, 1.0, 1.5, 2.4, 3.5, 3.49, 4.5, 5.0]


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"parity/{name}")


BRAND, PRODUCT_IDS = _id("brand"), [_id(f"product/{i}") for i in range(len(PRODUCTS))]


@dataclass(frozen=True)
class Person:
    """One synthetic consumer's profile."""

    id: uuid.UUID
    places: tuple[tuple[str, str], ...]
    products: tuple[int, ...]
    interests: tuple[str, ...]
    first_days: int
    last_days: int
    scans_90d: int
    rating: float | None
    reward_ratio: float


def population() -> list[Person]:
    """The seeded population (the same on every run and backend)."""
    rng = random.Random(SEED)
    people = []
    for i in range(PEOPLE):
        first = rng.choice([2, 29, 31, 60, 120, 200, 400])
        people.append(Person(
            _id(f"consumer/{i}"), tuple(rng.sample(PLACES, rng.randint(1, 2))),
            tuple(sorted(rng.sample(range(len(PRODUCTS)), rng.randint(1, 3)))),
            tuple(rng.sample(INTERESTS, rng.randint(0, 3))), first,
            min(first, rng.choice([1, 10, 89, 91, 150, 181, 300])), rng.randint(0, 6),
            rng.choice(RATINGS), rng.choice([0.0, 0.25, 0.5, 1.0]),
        ))  # fmt: skip
    return people


def write(people: list[Person]) -> None:
    """Store the population as the profile jobs would (narrow tables, then the lists)."""
    from accounts.models import Brand
    from anticounterfeit.models import Product
    from core.db import db
    from profiles.derived import lists
    from profiles.models import (
        Consumer,
        ConsumerProfile,
        ProfileCity,
        ProfileInterest,
        ProfileProduct,
    )

    db.session.add(Brand(id=BRAND, slug="parity", name="Parity"))
    for pid, (name, category) in zip(PRODUCT_IDS, PRODUCTS, strict=True):
        gtin = f"0990000000{pid.int % 10**4:04d}"
        db.session.add(Product(id=pid, brand_id=BRAND, name=name, gtin=gtin,
                               category=category or None))  # fmt: skip
    db.session.flush()
    for p in people:
        at = NOW - timedelta(days=p.last_days)
        db.session.add(Consumer(id=p.id, brand_id=BRAND))
        db.session.add(ConsumerProfile(
            consumer_id=p.id, brand_id=BRAND, first_scan_at=NOW - timedelta(days=p.first_days),
            last_scan_at=at, scan_count=p.scans_90d + 1, scans_90d=p.scans_90d,
            reward_ratio=p.reward_ratio, rating_count=int(p.rating is not None),
            rating_avg=p.rating,
        ))  # fmt: skip
        for province, city in p.places:
            db.session.add(ProfileCity(consumer_id=p.id, province=province, city=city,
                                       brand_id=BRAND, scans=1, last_at=at))  # fmt: skip
        for k in p.products:
            db.session.add(ProfileProduct(consumer_id=p.id, product_id=PRODUCT_IDS[k],
                                          brand_id=BRAND, category=PRODUCTS[k][1], scans=1,
                                          last_at=at))  # fmt: skip
        for interest in p.interests:
            db.session.add(ProfileInterest(consumer_id=p.id, interest=interest, brand_id=BRAND,
                                           source="stated"))  # fmt: skip
    db.session.flush()
    lists.sync(p.id for p in people)


RULES: list[dict[str, Any]] = [
    {"all": [  # the benchmark's four-condition segment
        {"field": "province", "op": "eq", "value": "浙江省"},
        {"field": "lifecycle", "op": "in", "value": ["new", "active"]},
        {"field": "rating_avg", "op": "gte", "value": 3.5},
        {"field": "scans_90d", "op": "gte", "value": 2},
    ]},
    {"all": [{"field": "lifecycle", "op": "in", "value": ["active", "lapsing"]}]},
    {"any": [
        {"field": "city", "op": "in", "value": ["上海市", "深圳市"]},
        {"all": [{"field": "interest", "op": "eq", "value": "绿茶"},
                 {"field": "rating_avg", "op": "between", "value": [1.5, 3.49]}]},
    ]},
    {"all": [
        {"field": "product_id", "op": "scanned", "value": str(PRODUCT_IDS[1])},
        {"field": "category", "op": "in", "value": ["green"]},
        {"any": [{"field": "reward_ratio", "op": "lte", "value": 0.25},
                 {"field": "first_scan_at", "op": "gte", "value": "2026-09-01"}]},
    ]},
    {"all": [
        {"field": "product_id", "op": "in", "value": [str(PRODUCT_IDS[0]), str(PRODUCT_IDS[3])]},
        {"field": "lifecycle", "op": "eq", "value": "lapsed"},
        {"field": "interest", "op": "in", "value": ["gift", "office"]},
    ]},
    {"any": [{"field": "province", "op": "eq", "value": "西藏自治区"}]},  # nobody
]  # fmt: skip


def _stage(p: Person) -> str:
    from profiles.derived.lifecycle import stage

    return stage(NOW - timedelta(days=p.first_days), NOW - timedelta(days=p.last_days), NOW)


def _bucket(rating: float | None) -> str:
    if rating is None:
        return "none"
    tops = ((1, 1.5), (2, 2.5), (3, 3.5), (4, 4.5), (5, 9))
    return next(str(b) for b, top in tops if rating < top)


def _holds(p: Person, c: dict[str, Any]) -> bool:
    has: dict[str, set[Any]] = {
        "province": {pl[0] for pl in p.places}, "city": {pl[1] for pl in p.places},
        "product_id": {str(PRODUCT_IDS[k]) for k in p.products},
        "category": {PRODUCTS[k][1] for k in p.products} - {""}, "interest": set(p.interests),
        "lifecycle": {_stage(p)},
    }  # fmt: skip
    if c["field"] in has:
        wanted = set(c["value"]) if c["op"] == "in" else {c["value"]}
        return bool(has[c["field"]] & wanted)
    value: Any = {"scans_90d": p.scans_90d, "rating_avg": p.rating,
                  "reward_ratio": p.reward_ratio,
                  "first_scan_at": NOW - timedelta(days=p.first_days)}[c["field"]]  # fmt: skip
    bound = c["value"]
    if c["field"] == "first_scan_at":
        bound = datetime.fromisoformat(bound).replace(tzinfo=UTC)
    if value is None:
        return False
    if c["op"] == "gte":
        return bool(value >= bound)
    if c["op"] == "lte":
        return bool(value <= bound)
    return bool(bound[0] <= value <= bound[1])


def _matches(p: Person, rule: dict[str, Any]) -> bool:
    mode, items = next(iter(rule.items()))
    results = [_matches(p, i) if "all" in i or "any" in i else _holds(p, i) for i in items]
    return all(results) if mode == "all" else any(results)


def oracle(people: list[Person], rule: dict[str, Any]) -> dict[str, Any]:
    """Size and breakdowns computed in Python."""
    chosen = [p for p in people if _matches(p, rule)]
    return {
        "size": len(chosen),
        "lifecycle": Counter(_stage(p) for p in chosen),
        "rating": Counter(_bucket(p.rating) for p in chosen),
        "province": Counter(pr for p in chosen for pr in {pl[0] for pl in p.places}),
        "product": Counter(PRODUCT_IDS[k] for p in chosen for k in p.products),
        "interest": Counter(i for p in chosen for i in p.interests),
    }


def answers() -> list[dict[str, Any]]:
    """Every rule's exact evaluation, published answer and members on the bound database."""
    from core.db import db
    from profiles.segments import evaluate, rules

    out = []
    for rule in RULES:
        group = rules.parse(rule)
        ev = evaluate.evaluate(group, BRAND, NOW)
        members = set(db.session.scalars(evaluate.members(group, BRAND, NOW)))
        out.append({
            "exact": {"size": ev.size, **{d: {k: n for k, n in getattr(ev, d).items() if n}
                                          for d in ("lifecycle", "rating", "province", "product",
                                                    "interest")}},
            "published": evaluate.publish(ev, BRAND, 10), "members": members,
        })  # fmt: skip
    return out


def test_segments_answer_alike_on_both_backends_and_match_the_oracle(app: Any) -> None:
    from core.db import db

    people = population()
    backend = db.session.get_bind().dialect.name
    write(people)
    here = answers()
    engine_sqlite = _answers_on_sqlite(app, people)
    expected = [oracle(people, rule) for rule in RULES]
    assert any(e["size"] >= 10 for e in expected) and any(e["size"] == 0 for e in expected)
    for rule, mine, theirs, want in zip(RULES, here, engine_sqlite, expected, strict=True):
        assert mine["exact"] == theirs["exact"], (backend, rule)
        assert mine["published"] == theirs["published"], (backend, rule)
        assert mine["members"] == theirs["members"], (backend, rule)
        assert mine["exact"] == {k: dict(v) if isinstance(v, Counter) else v
                                 for k, v in want.items()}, rule  # fmt: skip


def _answers_on_sqlite(app: Any, people: list[Person]) -> list[dict[str, Any]]:
    """The same population and rules on a fresh SQLite database."""
    from core.db import build_engine, db
    from core.dbcli import upgrade

    engine = build_engine("sqlite://")
    with engine.begin() as conn:
        upgrade(connection=conn)
    connection = engine.connect()
    outer = connection.begin()
    try:
        with db.bound_to(connection):
            assert db.session.get_bind().dialect.name == "sqlite"
            write(people)
            return answers()
    finally:
        outer.rollback()
        connection.close()
        engine.dispose()
