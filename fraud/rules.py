"""Risk rules: pure functions from recorded facts to signals, each with per-brand parameters.

A rule looks at the facts about one *subject* (a consumer, a device, an IP address or a code
batch) and returns zero or more signals ``(rule, subject, severity, evidence)``. A signal's score
is the rule's weight times its severity (0 to 1); a subject's score is the sum of its signals'
scores, compared with the brand's ``fraud_review_score`` and ``fraud_block_score``. The rules
never read the database: ``fraud.facts`` loads what they look at, so every rule is testable on
synthetic data (``tests/fraud/synthetic.py``).

Thresholds are chosen so that honest behaviour stays below them: a family sharing one phone
(two or three accounts), a traveller on a plane, a shopper re-scanning the same bottle, a shopper
scanning the dozen units of a case they bought. Each rule's docstring says what it catches and
what it lets through; ``RULES`` lists them with their default parameters (README: "Fraud").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from anticounterfeit.geo import distance_km


class Subject:
    """Subject kinds: what a case is about."""

    consumer = "consumer"
    device = "device"
    ip = "ip"
    code_batch = "code_batch"


@dataclass(frozen=True)
class ScanFact:
    """One recorded scan as the rules see it."""

    scan_id: str
    at: datetime
    code_batch_id: str
    serial: int
    verdict: str
    consumer_id: str | None = None
    device_id: str | None = None
    ip: str | None = None
    lat: float | None = None
    lng: float | None = None
    province: str | None = None
    city: str | None = None
    cash_campaign: bool = False  # a cash campaign targeting this code was running


@dataclass(frozen=True)
class ForgedFact:
    """One scan of a forged code (from the ``scans:invalid`` stream)."""

    at: datetime
    ip: str | None = None
    device_id: str | None = None


@dataclass
class Facts:
    """What the rules may look at for one brand, around the scans being checked."""

    scans: Sequence[ScanFact]
    forged: Sequence[ForgedFact] = ()
    #: code batch id -> provinces it was made for (empty: no intended market known)
    markets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: code batch id -> number of codes in the batch
    batch_sizes: dict[str, int] = field(default_factory=dict)
    #: share of all of the brand's scans made while a cash campaign ran (the baseline)
    cash_share: float = 0.0


@dataclass(frozen=True)
class Signal:
    """A rule's finding about one subject."""

    rule: str
    kind: str
    subject: str
    severity: float
    evidence: dict[str, Any]


Params = dict[str, Any]
RuleFunc = Callable[[Facts, Params], list[Signal]]


@dataclass(frozen=True)
class Rule:
    """A documented rule with its default weight and parameters."""

    key: str
    description: str
    func: RuleFunc
    weight: int
    params: Params


def _scan_evidence(scans: Iterable[ScanFact], limit: int = 50) -> list[dict[str, Any]]:
    return [
        {
            "scan_id": s.scan_id,
            "at": s.at.isoformat(),
            "city": s.city,
            "province": s.province,
            "device": s.device_id,
            "consumer": s.consumer_id,
            "ip": s.ip,
            "verdict": s.verdict,
            "batch": s.code_batch_id,
            "serial": s.serial,
        }  # fmt: skip
        for s in sorted(scans, key=lambda s: s.at)[:limit]
    ]


def _group(
    scans: Iterable[ScanFact], key: Callable[[ScanFact], str | None]
) -> dict[str, list[ScanFact]]:
    groups: dict[str, list[ScanFact]] = defaultdict(list)
    for s in scans:
        k = key(s)
        if k:
            groups[k].append(s)
    return groups


def _densest_window(times: Sequence[datetime], window: timedelta) -> tuple[int, int]:
    """The most events within any ``window``: (count, index of the first of them)."""
    ordered = sorted(times)
    best, best_start, start = 0, 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > window:
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, start
    return best, best_start


def _severity(value: float, threshold: float) -> float:
    """0 below the threshold, 0.5 at it, approaching 1 at twice it and beyond."""
    if value < threshold:
        return 0.0
    return min(1.0, 0.5 + 0.5 * (value - threshold) / max(threshold, 1))


SUBJECT_KEYS: dict[str, Callable[[ScanFact], str | None]] = {
    Subject.consumer: lambda s: s.consumer_id,
    Subject.device: lambda s: s.device_id,
    Subject.ip: lambda s: s.ip,
}


def scan_velocity(facts: Facts, p: Params) -> list[Signal]:
    """Too many scans from one consumer, device or IP within a few minutes (scripts, farms).

    A person scanning the bottles of a case they bought makes a dozen scans in a few minutes;
    a script makes hundreds. Each subject kind has its own ceiling (an IP may be a shop's NAT)."""
    window = timedelta(minutes=p["window_minutes"])
    signals = []
    for kind, ceiling in (
        (Subject.consumer, p["max_per_consumer"]), (Subject.device, p["max_per_device"]),
        (Subject.ip, p["max_per_ip"]),
    ):  # fmt: skip
        for subject, scans in _group(facts.scans, SUBJECT_KEYS[kind]).items():
            count, start = _densest_window([s.at for s in scans], window)
            severity = _severity(count, ceiling + 1)
            if severity:
                ordered = sorted(scans, key=lambda s: s.at)[start : start + count]
                signals.append(Signal("scan_velocity", kind, subject, severity, {
                    "scans_in_window": count, "window_minutes": p["window_minutes"],
                    "ceiling": ceiling, "scans": _scan_evidence(ordered),
                }))  # fmt: skip
    return signals


def shared_device(facts: Facts, p: Params) -> list[Signal]:
    """Many consumer accounts on one device or one IP (device farms, account rings).

    A family sharing a phone is two or three accounts; the device ceiling is above that. IPs get
    a much higher ceiling: a campus or a carrier NAT puts many honest people behind one address."""
    signals = []
    for kind, ceiling in ((Subject.device, p["max_consumers_per_device"]),
                          (Subject.ip, p["max_consumers_per_ip"])):  # fmt: skip
        for subject, scans in _group(facts.scans, SUBJECT_KEYS[kind]).items():
            consumers = sorted({s.consumer_id for s in scans if s.consumer_id})
            severity = _severity(len(consumers), ceiling + 1)
            if severity:
                signals.append(Signal("shared_device", kind, subject, severity, {
                    "consumers": consumers, "ceiling": ceiling, "scans": _scan_evidence(scans),
                }))  # fmt: skip
    return signals


def many_devices(facts: Facts, p: Params) -> list[Signal]:
    """One consumer account on many devices (an account shared across a ring's phones)."""
    signals = []
    for consumer, scans in _group(facts.scans, SUBJECT_KEYS[Subject.consumer]).items():
        devices = sorted({s.device_id for s in scans if s.device_id})
        severity = _severity(len(devices), p["max_devices"] + 1)
        if severity:
            signals.append(Signal("many_devices", Subject.consumer, consumer, severity, {
                "devices": devices, "ceiling": p["max_devices"], "scans": _scan_evidence(scans),
            }))  # fmt: skip
    return signals


def impossible_travel(facts: Facts, p: Params) -> list[Signal]:
    """One consumer or device scanning in two places farther apart than travel allows.

    A plane flies ~900 km/h; below ``min_km`` location error dominates. A traveller who scans in
    Shanghai and then in Beijing three hours later is within reach and is not flagged."""
    signals = []
    for kind in (Subject.consumer, Subject.device):
        for subject, scans in _group(facts.scans, SUBJECT_KEYS[kind]).items():
            placed = sorted((s for s in scans if s.lat is not None and s.lng is not None),
                            key=lambda s: s.at)  # fmt: skip
            jumps = []
            for a, b in zip(placed, placed[1:], strict=False):
                km = distance_km(a.lat, a.lng, b.lat, b.lng)  # type: ignore[arg-type]
                hours = max((b.at - a.at).total_seconds() / 3600, 1 / 3600)
                if km > p["min_km"] and km / hours > p["max_speed_kmh"]:
                    jumps.append({"from": _scan_evidence([a])[0], "to": _scan_evidence([b])[0],
                                  "km": round(km), "hours": round(hours, 2)})  # fmt: skip
            severity = _severity(len(jumps), p["min_jumps"])
            if severity:
                signals.append(Signal("impossible_travel", kind, subject, severity,
                                      {"jumps": jumps[:20]}))  # fmt: skip
    return signals


def batch_harvest(facts: Facts, p: Params) -> list[Signal]:
    """One consumer scanning many different codes of one batch within minutes (a bought or
    leaked code pack being cashed in). A shopper with a case of 12 stays below the ceiling."""
    window = timedelta(minutes=p["window_minutes"])
    signals = []
    for consumer, scans in _group(facts.scans, SUBJECT_KEYS[Subject.consumer]).items():
        for batch, batch_scans in _group(scans, lambda s: s.code_batch_id).items():
            firsts: dict[int, ScanFact] = {}
            for s in sorted(batch_scans, key=lambda s: s.at):
                firsts.setdefault(s.serial, s)
            count, start = _densest_window([s.at for s in firsts.values()], window)
            severity = _severity(count, p["max_codes"] + 1)
            if severity:
                ordered = sorted(firsts.values(), key=lambda s: s.at)[start : start + count]
                signals.append(Signal("batch_harvest", Subject.consumer, consumer, severity, {
                    "batch": batch, "codes_in_window": count, "window_minutes": p["window_minutes"],
                    "ceiling": p["max_codes"], "scans": _scan_evidence(ordered),
                }))  # fmt: skip
    return signals


def out_of_market(facts: Facts, p: Params) -> list[Signal]:
    """A consumer scanning codes far outside the market their batch was made for (grey imports,
    codes shipped to a ring). One stray scan is a traveller; several are a pattern."""
    signals = []
    for consumer, scans in _group(facts.scans, SUBJECT_KEYS[Subject.consumer]).items():
        outside = [
            s for s in scans
            if s.province and facts.markets.get(s.code_batch_id)
            and s.province not in facts.markets[s.code_batch_id]
        ]  # fmt: skip
        severity = _severity(len(outside), p["min_scans"])
        if severity:
            signals.append(Signal("out_of_market", Subject.consumer, consumer, severity, {
                "scans": _scan_evidence(outside),
                "markets": {b: list(facts.markets[b]) for b in {s.code_batch_id for s in outside}},
            }))  # fmt: skip
    return signals


def forged_burst(facts: Facts, p: Params) -> list[Signal]:
    """A burst of forged codes from one IP or device (someone guessing codes, or testing a
    printed fake)."""
    window = timedelta(minutes=p["window_minutes"])
    signals = []
    for kind, key in ((Subject.ip, lambda f: f.ip), (Subject.device, lambda f: f.device_id)):
        groups: dict[str, list[ForgedFact]] = defaultdict(list)
        for f in facts.forged:
            if key(f):
                groups[key(f)].append(f)
        for subject, forged in groups.items():
            count, _ = _densest_window([f.at for f in forged], window)
            severity = _severity(count, p["min_forged"])
            if severity:
                signals.append(Signal("forged_burst", kind, subject, severity, {
                    "forged_in_window": count, "window_minutes": p["window_minutes"],
                    "times": [f.at.isoformat() for f in sorted(forged, key=lambda f: f.at)[:50]],
                }))  # fmt: skip
    return signals


def cash_only(facts: Facts, p: Params) -> list[Signal]:
    """A consumer who scans only while a cash campaign runs, where most of the brand's shoppers
    also scan without one (bonus hunters). Meaningless when cash campaigns run all the time, so
    the rule compares with the brand's baseline share."""
    signals: list[Signal] = []
    if facts.cash_share > p["max_baseline_share"]:
        return signals
    for consumer, scans in _group(facts.scans, SUBJECT_KEYS[Subject.consumer]).items():
        if len(scans) < p["min_scans"]:
            continue
        share = sum(s.cash_campaign for s in scans) / len(scans)
        if share >= p["min_share"]:
            signals.append(Signal("cash_only", Subject.consumer, consumer, 1.0, {
                "scans": len(scans), "cash_share": round(share, 3),
                "brand_cash_share": round(facts.cash_share, 3),
            }))  # fmt: skip
    return signals


def suspect_cluster(facts: Facts, p: Params) -> list[Signal]:
    """``suspect_copy`` verdicts clustering on one batch: its codes have probably leaked (a
    ``code_batch`` case suggesting revocation)."""
    signals = []
    for batch, scans in _group(facts.scans, lambda s: s.code_batch_id).items():
        suspects = sorted({s.serial for s in scans if s.verdict == "suspect_copy"})
        size = facts.batch_sizes.get(batch) or len({s.serial for s in scans}) or 1
        share = len(suspects) / size
        if len(suspects) >= p["min_codes"] and share >= p["min_share"]:
            signals.append(Signal("suspect_cluster", Subject.code_batch, batch, 1.0, {
                "suspect_codes": len(suspects), "share": round(share, 4), "serials": suspects[:100],
                "suggestion": "revoke the batch",
                "scans": _scan_evidence([s for s in scans if s.verdict == "suspect_copy"]),
            }))  # fmt: skip
    return signals


RULES: tuple[Rule, ...] = (
    Rule("scan_velocity", "Too many scans from one consumer, device or IP within minutes",
         scan_velocity, 60, {"window_minutes": 10, "max_per_consumer": 30,
                             "max_per_device": 30, "max_per_ip": 120}),
    Rule("shared_device", "Many consumer accounts on one device or one IP", shared_device, 100,
         {"max_consumers_per_device": 3, "max_consumers_per_ip": 15}),
    Rule("many_devices", "One consumer account used on many devices", many_devices, 50,
         {"max_devices": 4}),
    Rule("impossible_travel", "Scans farther apart than a plane could fly between them",
         impossible_travel, 50, {"max_speed_kmh": 900, "min_km": 50, "min_jumps": 2}),
    Rule("batch_harvest", "Many codes of one batch scanned by one consumer within minutes",
         batch_harvest, 100, {"window_minutes": 30, "max_codes": 24}),
    Rule("out_of_market", "Scans far outside the market the batch was made for", out_of_market,
         30, {"min_scans": 3}),
    Rule("forged_burst", "A burst of forged codes from one IP or device", forged_burst, 100,
         {"window_minutes": 10, "min_forged": 5}),
    Rule("cash_only", "Scans only while a cash campaign runs, unlike the brand's shoppers",
         cash_only, 50, {"min_scans": 5, "min_share": 0.95, "max_baseline_share": 0.6}),
    Rule("suspect_cluster", "suspect_copy verdicts clustering on one code batch (a leaked pack)",
         suspect_cluster, 100, {"min_codes": 5, "min_share": 0.02}),
)  # fmt: skip

RULES_BY_KEY = {rule.key: rule for rule in RULES}


@dataclass(frozen=True)
class RuleSetting:
    """A brand's setting of one rule (defaults when the brand has none)."""

    enabled: bool
    weight: int
    params: Params


@dataclass
class Score:
    """A subject's signals and score."""

    kind: str
    subject: str
    signals: list[tuple[Signal, float]] = field(default_factory=list)

    @property
    def total(self) -> float:
        """The sum of the signals' scores."""
        return sum(score for _, score in self.signals)


def evaluate(facts: Facts, settings: dict[str, RuleSetting]) -> dict[tuple[str, str], Score]:
    """Run every enabled rule; the scored subjects by (kind, subject)."""
    scores: dict[tuple[str, str], Score] = {}
    for rule in RULES:
        setting = settings.get(rule.key) or RuleSetting(True, rule.weight, rule.params)
        if not setting.enabled:
            continue
        for signal in rule.func(facts, {**rule.params, **setting.params}):
            entry = scores.setdefault(
                (signal.kind, signal.subject), Score(signal.kind, signal.subject)
            )
            entry.signals.append((signal, round(setting.weight * signal.severity, 1)))
    return scores


def band(score: float, review: float, block: float) -> str:
    """``clear``, ``review`` or ``block`` for a score under the brand's thresholds."""
    if score >= block:
        return "block"
    return "review" if score >= review else "clear"
