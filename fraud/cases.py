"""Fraud cases: opened and updated by checks, read by operators with their evidence, resolved.

Subjects are stored as they are (a consumer id, a device id, an IP address, a code batch id) so
that holds can find them; everything shown to staff uses pseudonymous ids (``settings.pseudonym``)
except code batches, which are the brand's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand, StaffUser
from core import audit, events
from core.audit import CLI, Actor
from core.db import db, utcnow
from core.queries import get_for_brand, page
from fraud import holds
from fraud.errors import AlreadyResolved, UnknownCase
from fraud.models import (
    Appeal,
    Block,
    CaseAward,
    CaseKind,
    CaseStatus,
    Decision,
    FraudCase,
    FraudDecision,
)
from fraud.rules import Score
from fraud.settings import pseudonym

#: A released subject is not re-opened unless its score grows past the released one.
RELEASE_MEMORY = timedelta(days=30)
PSEUDONYMOUS = {"consumer", "device", "ip"}


def _pseudonymize(brand_id: uuid.UUID, value: Any, key: str | None = None) -> Any:
    """Evidence as staff may see it: consumers, devices and IPs under pseudonyms."""
    if isinstance(value, dict):
        return {k: _pseudonymize(brand_id, v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_pseudonymize(brand_id, v, key) for v in value]
    names = {"consumer": "consumer", "consumers": "consumer", "device": "device",
             "devices": "device", "ip": "ip"}  # fmt: skip
    if key in names and isinstance(value, str):
        return pseudonym(brand_id, names[key], value)
    return value


def shown_subject(case: FraudCase) -> str:
    """The case's subject as staff see it."""
    if case.kind.value in PSEUDONYMOUS:
        return pseudonym(case.brand_id, case.kind.value, case.subject) or ""
    return case.subject


def open_case_for(brand_id: uuid.UUID, kind: str, subject: str) -> FraudCase | None:
    """The subject's open case, if any."""
    return db.session.scalar(select(FraudCase).where(
        FraudCase.brand_id == brand_id, FraudCase.kind == kind, FraudCase.subject == subject,
        FraudCase.status == CaseStatus.open))  # fmt: skip


def released_above(brand_id: uuid.UUID, kind: str, subject: str, score: float) -> bool:
    """Whether a person released this subject recently at a score at least this high."""
    found = db.session.scalar(select(FraudCase.id).where(
        FraudCase.brand_id == brand_id, FraudCase.kind == kind, FraudCase.subject == subject,
        FraudCase.decision == Decision.release, FraudCase.score >= score,
        FraudCase.resolved_at >= utcnow() - RELEASE_MEMORY).limit(1))  # fmt: skip
    return found is not None


def _signals(brand_id: uuid.UUID, score: Score) -> list[dict[str, Any]]:
    return [
        {"rule": s.rule, "score": points, "evidence": _pseudonymize(brand_id, s.evidence)}
        for s, points in score.signals
    ]


def upsert(brand_id: uuid.UUID, score: Score, band: str) -> FraudCase:
    """Open a case for the subject, or update its open one with the latest signals."""
    for _ in range(2):
        case = open_case_for(brand_id, score.kind, score.subject)
        if case is None:
            case = FraudCase(brand_id=brand_id, kind=CaseKind(score.kind), subject=score.subject,
                             status=CaseStatus.open)  # fmt: skip
            try:
                with db.session.begin_nested():
                    _fill(case, brand_id, score, band)
                    db.session.add(case)
                    db.session.flush()
                    _announce_opened(case)
                return case
            except IntegrityError:  # a concurrent check opened it: update theirs
                continue
        _fill(case, brand_id, score, band)
        return case
    raise RuntimeError("could not open or find the subject's case")


def _fill(case: FraudCase, brand_id: uuid.UUID, score: Score, band: str) -> None:
    case.score, case.band, case.signals = score.total, band, _signals(brand_id, score)
    case.updated_at = utcnow()


def open_external(brand_id: uuid.UUID, kind: str, subject: str, signals: list[dict[str, Any]],
                  score: float = 100.0) -> FraudCase:  # fmt: skip
    """Open (or add to) a case from another package's finding (e.g. a ``diversion``); two
    findings at once about one subject share its one open case."""
    case = open_case_for(brand_id, kind, subject)
    if case is None:
        case = FraudCase(brand_id=brand_id, kind=CaseKind(kind), subject=subject, score=score,
                         band="review", signals=[], status=CaseStatus.open)  # fmt: skip
        try:
            with db.session.begin_nested():
                db.session.add(case)
                db.session.flush()
                _announce_opened(case)
        except IntegrityError:  # a concurrent finding opened it first: add to theirs
            case = open_case_for(brand_id, kind, subject)
            assert case is not None
    case.signals = [*case.signals, *signals]
    case.score = max(case.score, score)
    db.session.flush()
    return case


def _announce_opened(case: FraudCase) -> None:
    """``fraud.case_opened`` for owners' webhooks, in the savepoint that opened the case."""
    data = {"case_id": case.id, "kind": case.kind.value, "subject": shown_subject(case),
            "score": case.score, "band": case.band, "opened_at": case.opened_at}  # fmt: skip
    events.publish(case.brand_id, "fraud.case_opened", data, f"case_opened:{case.id}")


def attach_awards(case: FraudCase, award_ids: list[uuid.UUID]) -> None:
    """Record that these awards are held under the case."""
    db.session.flush()
    known = set(db.session.scalars(select(CaseAward.award_id).where(CaseAward.case_id == case.id)))
    for award_id in award_ids:
        if award_id not in known:
            db.session.add(CaseAward(case_id=case.id, award_id=award_id))
    db.session.flush()


def case_award_ids(case: FraudCase) -> list[uuid.UUID]:
    """The awards held or decided under the case."""
    return list(db.session.scalars(
        select(CaseAward.award_id).where(CaseAward.case_id == case.id).order_by(CaseAward.award_id)
    ))  # fmt: skip


def list_cases(brand: Brand, status: str | None, kind: str | None, number: int,
               size: int) -> tuple[list[FraudCase], int]:  # fmt: skip
    """The brand's cases, most recently opened first."""
    query = select(FraudCase).where(FraudCase.brand_id == brand.id)
    if status:
        query = query.where(FraudCase.status == status)
    if kind:
        query = query.where(FraudCase.kind == kind)
    return page(query.order_by(FraudCase.opened_at.desc(), FraudCase.id), number, size)


def get_case(brand: Brand, case_id: str) -> FraudCase:
    """One of the brand's cases (another brand's: 404)."""
    return get_for_brand(FraudCase, case_id, brand.id, UnknownCase)


@dataclass
class CaseDetail:
    """A case with the evidence an operator needs to decide."""

    case: FraudCase
    scans: list[dict[str, Any]] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)


def detail(brand: Brand, case_id: str) -> CaseDetail:
    """The case, the scans its signals cite, linked consumers and devices, and appeals."""
    case = get_case(brand, case_id)
    scans: dict[str, dict[str, Any]] = {}
    for signal in case.signals:
        for item in _walk_scans(signal.get("evidence", {})):
            scans.setdefault(str(item.get("scan_id")), item)
    ordered = sorted(scans.values(), key=lambda s: str(s.get("at")))
    appeals = list(db.session.scalars(
        select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.created_at)))  # fmt: skip
    return CaseDetail(
        case, ordered,
        sorted({s["consumer"] for s in ordered if s.get("consumer")}),
        sorted({s["device"] for s in ordered if s.get("device")}), appeals,
    )  # fmt: skip


def _walk_scans(evidence: Any) -> list[dict[str, Any]]:
    if isinstance(evidence, dict):
        found = [evidence] if "scan_id" in evidence else []
        for value in evidence.values():
            found += _walk_scans(value)
        return found
    if isinstance(evidence, list):
        return [s for item in evidence for s in _walk_scans(item)]
    return []


def resolve(
    brand: Brand, staff: StaffUser, case_id: str, decision: Decision, note: str,
    *, actor: Actor = CLI,
) -> FraudCase:
    """Release, reject or block: what it does to the case's awards is recorded with who and why."""
    case = db.session.scalar(
        select(FraudCase).where(FraudCase.id == get_case(brand, case_id).id)
        .with_for_update().execution_options(populate_existing=True)
    )  # fmt: skip
    assert case is not None
    if case.status is CaseStatus.resolved:
        raise AlreadyResolved()
    award_ids = case_award_ids(case)
    if decision is Decision.release:
        holds.release(award_ids)
    else:
        holds.reject(brand, award_ids, reason=f"fraud: case {case.id} {decision.value}")
    if decision is Decision.block:
        block(brand, case.kind.value, case.subject, case_id=case.id, staff=staff, reason=note)
    case.status, case.decision, case.resolved_by = CaseStatus.resolved, decision, staff.id
    case.resolved_at, case.note = utcnow(), note
    db.session.add(FraudDecision(brand_id=brand.id, case_id=case.id, decision=decision,
                                 staff_id=staff.id, note=note,
                                 award_ids=[str(a) for a in award_ids]))  # fmt: skip
    audit.record(brand.id, actor, "fraud.resolve", f"fraud_case:{case.id}",
                 {"decision": decision.value, "note": note, "awards": len(award_ids)})  # fmt: skip
    db.session.flush()
    events.publish(brand.id, "fraud.case_resolved", {
        "case_id": case.id, "decision": decision.value, "resolved_at": case.resolved_at,
        "award_ids": [str(a) for a in award_ids]}, f"case_resolved:{case.id}")  # fmt: skip
    return case


def block(brand: Brand, kind: str, subject: str, *, case_id: uuid.UUID | None = None,
          staff: StaffUser | None = None, reason: str = "") -> Block:  # fmt: skip
    """Stop rewards for a subject (idempotent)."""
    existing = db.session.scalar(select(Block).where(
        Block.brand_id == brand.id, Block.kind == kind, Block.subject == subject))  # fmt: skip
    if existing is not None:
        return existing
    row = Block(
        brand_id=brand.id, kind=CaseKind(kind), subject=subject, case_id=case_id,
        created_by=staff.id if staff else None, reason=(reason or "blocked")[:200],
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        found = db.session.scalar(select(Block).where(
            Block.brand_id == brand.id, Block.kind == kind, Block.subject == subject))  # fmt: skip
        assert found is not None
        return found
    return row


def shown(case: FraudCase) -> dict[str, Any]:
    """The case as staff see it (pseudonymous subject, its awards)."""
    return {
        "id": case.id, "status": case.status.value, "kind": case.kind.value,
        "subject": shown_subject(case), "score": case.score, "band": case.band,
        "signals": case.signals, "award_ids": [str(a) for a in case_award_ids(case)],
        "opened_at": case.opened_at, "resolved_at": case.resolved_at,
        "decision": case.decision.value if case.decision else None,
        "resolved_by": case.resolved_by, "note": case.note,
    }  # fmt: skip


def shown_detail(found: CaseDetail) -> dict[str, Any]:
    """A case with its evidence, as staff see it."""
    return {**shown(found.case), "scans": found.scans, "consumers": found.consumers,
            "devices": found.devices, "appeals": found.appeals,
            "appeal": found.appeals[-1] if found.appeals else None}  # fmt: skip


def list_blocks(brand: Brand, number: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """The brand's blocks, newest first, subjects pseudonymous."""
    rows, total = page(
        select(Block).where(Block.brand_id == brand.id).order_by(Block.created_at.desc()),
        number, size,
    )  # fmt: skip
    return [_shown_block(b) for b in rows], total


def _shown_block(row: Block) -> dict[str, Any]:
    subject = (pseudonym(row.brand_id, row.kind.value, row.subject)
               if row.kind.value in PSEUDONYMOUS else row.subject)  # fmt: skip
    return {
        "id": row.id,
        "kind": row.kind.value,
        "subject": subject,
        "case_id": row.case_id,
        "reason": row.reason,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def unblock(brand: Brand, block_id: str, *, actor: Actor = CLI) -> None:
    """Lift a block: the subject may win again."""
    from fraud.errors import UnknownBlock

    row = get_for_brand(Block, block_id, brand.id, UnknownBlock)
    audit.record(brand.id, actor, "fraud.unblock", f"fraud_block:{row.id}",
                 {"kind": row.kind.value, "reason": row.reason})  # fmt: skip
    db.session.delete(row)
    db.session.flush()
