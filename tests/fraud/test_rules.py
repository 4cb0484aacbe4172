"""The risk rules as pure functions: each ring of the synthetic month is caught, no honest
shopper is flagged (precision and recall reported in the README)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fraud import rules
from fraud.rules import RuleSetting, band, evaluate
from tests.fraud import synthetic

REVIEW, BLOCK = 50, 100


def _flagged(
    world: synthetic.World, settings: dict[str, RuleSetting] | None = None
) -> set[tuple[str, str]]:
    scores = evaluate(world.facts(), settings or {})
    return {key for key, score in scores.items() if band(score.total, REVIEW, BLOCK) != "clear"}


def test_every_ring_caught_and_no_honest_subject_flagged() -> None:
    world = synthetic.build()
    flagged = _flagged(world)
    assert world.bad <= flagged, f"missed: {world.bad - flagged}"
    assert not (world.honest & flagged), f"honest flagged: {world.honest & flagged}"


def test_precision_and_recall_figures() -> None:
    world = synthetic.build()
    flagged = _flagged(world)
    known = world.bad | world.honest
    tp = len(flagged & world.bad)
    precision = tp / max(len(flagged & known), 1)
    recall = tp / len(world.bad)
    assert (precision, recall) == (1.0, 1.0)


@pytest.mark.parametrize("rule_key,persona_subject", [
    ("shared_device", ("device", "farm-phone-0")),
    ("batch_harvest", ("consumer", "harvester")),
    ("suspect_cluster", ("code_batch", "batch-leaked")),
    ("cash_only", ("consumer", "cash-hunter")),
    ("forged_burst", ("ip", "192.0.2.66")),
])  # fmt: skip
def test_each_ring_is_caught_by_its_rule(rule_key: str, persona_subject: tuple[str, str]) -> None:
    world = synthetic.build()
    disabled = {rule_key: RuleSetting(False, 0, {})}
    assert persona_subject in _flagged(world)
    assert persona_subject not in _flagged(world, disabled)


def test_brand_parameters_override_defaults() -> None:
    world = synthetic.build()
    lenient = {"batch_harvest": RuleSetting(True, 100, {"max_codes": 100})}
    assert ("consumer", "harvester") not in _flagged(world, lenient)
    strict = {"shared_device": RuleSetting(True, 100, {"max_consumers_per_device": 2})}
    assert ("device", "family-phone") in _flagged(world, strict)


def test_impossible_travel_flags_teleporting_device_not_the_flight() -> None:
    world = synthetic.World()
    synthetic.traveller(world)
    at = synthetic.START + timedelta(days=2)
    for k, city in enumerate(["上海市", "成都市", "上海市", "成都市"]):  # 1,650 km every 20 min
        world.scan(at + timedelta(minutes=20 * k), "teleporter", "tele-phone", "10.5.0.1", city)
    signals = rules.impossible_travel(world.facts(), rules.RULES_BY_KEY["impossible_travel"].params)
    flagged = {(s.kind, s.subject) for s in signals}
    assert ("consumer", "teleporter") in flagged
    assert ("consumer", "traveller") not in flagged


def test_out_of_market_needs_a_pattern() -> None:
    world = synthetic.World()
    params = rules.RULES_BY_KEY["out_of_market"].params
    at = synthetic.START
    world.scan(at, "tourist", "t-phone", "10.6.0.1", "上海市", batch="batch-export")
    assert rules.out_of_market(world.facts(), params) == []
    for k in range(3):
        world.scan(at + timedelta(hours=k + 1), "grey", "g-phone", "10.6.0.2", "上海市",
                   batch="batch-export")  # fmt: skip
    [signal] = rules.out_of_market(world.facts(), params)
    assert (signal.subject, len(signal.evidence["scans"])) == ("grey", 3)


def test_signals_carry_their_evidence() -> None:
    world = synthetic.build()
    score = evaluate(world.facts(), {})[("consumer", "harvester")]
    [(signal, points)] = [(s, p) for s, p in score.signals if s.rule == "batch_harvest"]
    assert points == 100
    first = signal.evidence["scans"][0]
    assert {"at", "city", "device", "verdict", "serial"} <= set(first)
    assert signal.evidence["codes_in_window"] >= 25


def test_bands() -> None:
    assert [band(s, 50, 100) for s in (0, 49.9, 50, 99, 100)] == [
        "clear",
        "clear",
        "review",
        "review",
        "block",
    ]
