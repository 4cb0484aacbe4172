"""The fraud check of freshly recorded scans (the ``fraud`` queue's job, fed by the flusher).

For each checked scan: the rules score its subjects (consumer, device, IP, code batch) over the
recorded facts; a subject reaching the brand's review band gets a case (or its open case is
updated), and its red packets that have not reached the provider are held; a blocked subject's
new awards are rejected (money back to the budget). A scan whose subjects are all clear has its
red packets cleared for payment. Every checked scan gets a ``ScanCheck`` row: the payout gate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from accounts.models import Brand
from campaigns.models import Award, AwardStatus
from core.db import db, utcnow
from fraud import cases, facts, holds, settings
from fraud.models import Block, CaseKind, FraudCase, ScanCheck
from fraud.rules import Facts, ScanFact, Score, band, evaluate

ORDER = {"clear": 0, "review": 1, "block": 2}


def subjects_of(scan: ScanFact) -> list[tuple[str, str]]:
    """The subjects a scan speaks for."""
    found = [("consumer", scan.consumer_id), ("device", scan.device_id), ("ip", scan.ip)]
    return [(k, v) for k, v in found if v] + [("code_batch", scan.code_batch_id)]


@dataclass
class Outcome:
    """What one check did (for logs and tests)."""

    checked: int = 0
    cases: set[uuid.UUID] = field(default_factory=set)
    held: list[uuid.UUID] = field(default_factory=list)
    rejected: list[uuid.UUID] = field(default_factory=list)
    cleared: int = 0


def _blocked(brand_id: uuid.UUID, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    keys = set(keys)
    if not keys:
        return set()
    rows = db.session.execute(select(Block.kind, Block.subject).where(
        Block.brand_id == brand_id, Block.subject.in_({s for _, s in keys})))  # fmt: skip
    return {(k.value, s) for k, s in rows} & keys


def _case_for(
    brand: Brand, key: tuple[str, str], score: Score | None
) -> tuple[FraudCase | None, str]:
    """The subject's case and band: a new or updated case in the review band, else its open one."""
    review, block_score = settings.bands(brand)
    level = band(score.total, review, block_score) if score else "clear"
    if (
        score is not None
        and level != "clear"
        and not cases.released_above(brand.id, *key, score.total)
    ):
        case = cases.upsert(brand.id, score, level)
        if level == "block" and key[0] != "code_batch":
            cases.block(brand, key[0], key[1], case_id=case.id, reason="block band")
        return case, level
    found = cases.open_case_for(brand.id, *key)
    return found, (found.band if found else "clear")


def _flag(brand: Brand, keys: set[tuple[str, str]], scores: dict[tuple[str, str], Score],
          outcome: Outcome) -> dict[tuple[str, str], tuple[FraudCase, str]]:  # fmt: skip
    """Open or update the cases of subjects in the review band (or with an open case)."""
    flagged = {}
    for key in keys:
        case, level = _case_for(brand, key, scores.get(key))
        if case is None:
            continue
        outcome.cases.add(case.id)
        if key[0] != "code_batch":  # a batch case suggests revocation; it holds no award
            flagged[key] = (case, level)
    return flagged


def _other_pending(brand_id: uuid.UUID, key: tuple[str, str]) -> list[uuid.UUID]:
    """A flagged subject's other red packets still waiting: held with the rest."""
    from anticounterfeit.models import ScanEvent

    kind, subject = key
    query = select(Award.id).where(Award.brand_id == brand_id, Award.status == AwardStatus.pending)
    if kind == "consumer":
        query = query.where(Award.consumer_id == uuid.UUID(subject))
    else:
        column = ScanEvent.device_id if kind == "device" else ScanEvent.ip
        query = query.join(ScanEvent, ScanEvent.id == Award.scan_id).where(column == subject)
    return list(db.session.scalars(query.limit(1000)))


def check(brand_id: uuid.UUID, scan_ids: Sequence[str]) -> Outcome:
    """Check these scans of one brand (idempotent: a re-run finds the same facts)."""
    brand = db.session.get(Brand, brand_id)
    outcome = Outcome()
    if brand is None:
        return outcome
    found, checked = facts.load(brand, scan_ids, settings.markets(brand))
    scores = evaluate(found, settings.rule_settings(brand))
    keys = {k for scan in checked for k in subjects_of(scan)}
    flagged = _flag(brand, keys, scores, outcome)
    blocked = _blocked(brand.id, keys)
    levels = {scan.scan_id: _level(scan, flagged, blocked) for scan in checked}
    # Rejections first: they lock campaigns, which come before awards in the one lock order.
    doomed = [uuid.UUID(s.scan_id) for s in checked if levels[s.scan_id] == "block"]
    reason = "fraud: subject blocked"
    outcome.rejected += holds.reject(brand, holds.awards_of_scans(doomed), reason=reason)
    for key, (case, _) in flagged.items():
        cases.attach_awards(case, held := holds.hold(_other_pending(brand.id, key)))
        outcome.held += held
    for scan in checked:
        _settle(brand, scan, levels[scan.scan_id], flagged, outcome)
    db.session.flush()
    return outcome


def check_forged(brand_id: uuid.UUID, ips: set[str], devices: set[str]) -> Outcome:
    """Score the sources of forged-code scans (they never reach the scan-event table)."""
    brand = db.session.get(Brand, brand_id)
    outcome = Outcome()
    if brand is None:
        return outcome
    since = utcnow() - facts.LOOKBACK
    found = Facts([], facts.forged_from(brand.id, ips, devices, since))
    scores = evaluate(found, settings.rule_settings(brand))
    keys = {("ip", ip) for ip in ips} | {("device", d) for d in devices}
    for key, (case, _) in _flag(brand, keys, scores, outcome).items():
        cases.attach_awards(case, held := holds.hold(_other_pending(brand.id, key)))
        outcome.held += held
    db.session.flush()
    return outcome


def _level(scan: ScanFact, flagged: dict[tuple[str, str], tuple[FraudCase, str]],
           blocked: set[tuple[str, str]]) -> str:  # fmt: skip
    """The scan's band: ``block`` if any of its subjects is blocked, else its worst open case's."""
    keys = subjects_of(scan)
    if any(k in blocked for k in keys):
        return "block"
    return max(
        (flagged[k][1] for k in keys if k in flagged), key=ORDER.__getitem__, default="clear"
    )


def _settle(brand: Brand, scan: ScanFact, level: str,
            flagged: dict[tuple[str, str], tuple[FraudCase, str]],
            outcome: Outcome) -> None:  # fmt: skip
    """Hold or clear the scan's awards (a blocked scan's were rejected already); mark it checked."""
    if level != "block":
        award_ids = holds.awards_of_scans([uuid.UUID(scan.scan_id)])
        if level != "clear":
            held = holds.hold(award_ids)
            for key in subjects_of(scan):
                if key in flagged:
                    cases.attach_awards(flagged[key][0], held)
            outcome.held += held
        else:
            outcome.cleared += holds.clear(award_ids)
    if db.session.get(ScanCheck, uuid.UUID(scan.scan_id)) is None:
        db.session.add(ScanCheck(scan_id=uuid.UUID(scan.scan_id), brand_id=brand.id, band=level))
    outcome.checked += 1


__all__ = ["CaseKind", "check", "subjects_of"]
