"""Driving payouts: claim (commit ``processing``), call the provider outside any transaction,
then apply its answer under the locks. Every step re-reads the row, so duplicate jobs, replays
and crashes at any point change nothing that was already decided.

A payout found ``processing`` whose lease ran out (its worker died, or the answer was lost) is
resolved by a query with the same trade number; only a query saying WeChat has no such payment
lets it be sent again (same number), and only ``PAYOUT_MAX_ATTEMPTS`` sends per round are made.
"""

from __future__ import annotations

import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from campaigns.models import Award, AwardStatus, Payout, PayoutStatus
from campaigns.payouts import orders, ratelimit, states
from campaigns.payouts.providers.base import Order, Outcome, Result
from core import events
from core.db import db, utcnow

log = logging.getLogger(__name__)
S = PayoutStatus
_TARGET = {
    Outcome.paid: S.paid, Outcome.awaiting_user: S.awaiting_user,
    Outcome.failed: S.failed, Outcome.cancelled: S.cancelled,
}  # fmt: skip


def setting(name: str, default: int) -> int:
    """An integer payouts setting from the app config."""
    value = current_app.config.get(name)
    return default if value is None else int(value)


@dataclass(frozen=True)
class Work:
    """One claimed payout and what to do with it."""

    order: Order
    action: str  # send | resolve | check | expire | refuse
    refusal: str | None = None


def _locked(ids: list[uuid.UUID], statuses: tuple[PayoutStatus, ...], limit: int) -> list[Payout]:
    stmt = (
        select(Payout).join(Award, Award.id == Payout.award_id)
        .where(Payout.status.in_(statuses), Payout.cleared.is_(True))
        .order_by(Payout.created_at).limit(limit)
        .with_for_update(of=(Award, Payout), skip_locked=True)
        .execution_options(populate_existing=True)
    )  # fmt: skip
    if ids:
        stmt = stmt.where(Payout.id.in_(ids))
    return list(db.session.scalars(stmt).unique())


def claim(ids: list[uuid.UUID], extra: int = 0) -> list[Work]:
    """Mark the given payouts (plus up to ``extra`` other waiting ones) ``processing``; commits."""
    now, lease = utcnow(), timedelta(seconds=setting("PAYOUT_LEASE_SECONDS", 60))
    rows = _locked(ids, (S.pending, S.processing), max(len(ids), 1)) if ids else []
    if extra:
        rows += [p for p in _locked([], (S.pending,), extra) if p not in rows]
    work: list[Work] = []
    memo: dict[object, object] = {}
    orders.prefetch_openids(rows, memo)
    for payout in rows:
        if payout.award.status is AwardStatus.held:
            continue  # fraud review decides; the held payout is never paid
        if payout.status is S.processing:
            if payout.processing_at is not None and payout.processing_at > now - lease:
                continue  # another worker's call is in flight
            action, reason = "resolve", "earlier outcome unknown: query the same number"
        else:
            action, reason = "send", f"attempt {payout.round_attempts + 1}"
        order, refusal = orders.build(payout, memo)
        if refusal is not None:
            action = "refuse"
        elif action == "send":
            payout.attempts += 1
            payout.round_attempts += 1
        payout.processing_at = now
        states.move(payout, payout.award, S.processing, reason)
        work.append(Work(order, action, refusal))
    db.commit()
    return work


def restamp(payout_id: str) -> bool:
    """Before re-sending a payout a query did not find: count the attempt; commits."""
    rows = _locked([uuid.UUID(payout_id)], (S.processing,), 1)
    ok = bool(rows) and rows[0].round_attempts < setting("PAYOUT_MAX_ATTEMPTS", 5)
    if ok:
        payout = rows[0]
        payout.attempts += 1
        payout.round_attempts += 1
        payout.processing_at = utcnow()
        states.move(payout, payout.award, S.processing, f"attempt {payout.round_attempts}")
    db.commit()
    return ok


def call(work: Work) -> tuple[str, Result]:
    """Talk to the provider for one claimed payout (no transaction, no database here)."""
    order = work.order
    if work.action == "refuse":
        return "none", Result(Outcome.failed, error_code=(work.refusal or "").split(":")[0],
                              reason=work.refusal)  # fmt: skip
    provider = orders.provider(order.provider)
    if work.action in ("check", "resolve"):
        return "query", provider.query(order)
    if work.action == "expire":
        cancelled = provider.cancel(order)
        return ("cancel", cancelled) if cancelled.outcome is Outcome.cancelled else (
            "query", provider.query(order))  # fmt: skip
    ratelimit.wait(order.merchant.mch_id or order.provider)
    return "send", provider.send(order)


def apply(
    payout_id: str, name: str, result: Result, *, quiet_repeat: bool = False,
    locked: bool = False,
) -> PayoutStatus | None:  # fmt: skip
    """Record the call and move the payout where the answer says, if the machine allows it.

    ``quiet_repeat`` (notifications): an answer that changes nothing leaves no history line.
    """
    key = uuid.UUID(payout_id)
    if result.outcome in (Outcome.failed, Outcome.cancelled) and not locked:
        states.lock_for_release(key)
    payout = lock_rows([key]).get(key)
    if payout is None:
        return None
    return _apply_to(payout, name, result, quiet_repeat)


def lock_rows(keys: list[uuid.UUID]) -> dict[uuid.UUID, Payout]:
    """Lock payouts and their awards in one statement: per row award then payout (``OF``
    order), rows in id order (the sort runs below the lock), so lockers never cross."""
    rows = db.session.scalars(
        select(Payout).join(Award, Award.id == Payout.award_id).where(Payout.id.in_(keys))
        .order_by(Payout.id).with_for_update(of=(Award, Payout))
        .execution_options(populate_existing=True)
    ).unique()  # fmt: skip
    return {p.id: p for p in rows}


def _apply_to(
    payout: Payout, name: str, result: Result, quiet_repeat: bool = False,
    announce: list[events.Event] | None = None,
) -> PayoutStatus:  # fmt: skip
    target = _TARGET.get(result.outcome)
    if quiet_repeat and (target is None or target is payout.status):
        return payout.status
    _note(payout, name, result)
    if target is None:
        if payout.status is S.processing:  # unknown or not found: release the lease, retry
            payout.processing_at = None
            payout.last_error = (result.reason or result.outcome.value)[:500]
        return payout.status
    if target is payout.status:
        return payout.status  # a repeated answer
    if not states.allowed(payout.status, target):
        states.record(payout, "transition", from_status=payout.status.value,
                      to_status=target.value, reason="refused: would move backwards")  # fmt: skip
        return payout.status
    _fill(payout, target, result)
    states.move(payout, payout.award, target, result.reason or result.outcome.value, announce)
    return payout.status


def _note(payout: Payout, name: str, result: Result) -> None:
    states.record(payout, "call", call=name, outcome=result.outcome.value,
                  error_code=result.error_code, reason=(result.reason or None))  # fmt: skip
    payout.provider_checked_at = utcnow()
    if result.provider_status:
        payout.provider_status = result.provider_status
    if result.reference:
        payout.provider_reference = result.reference[:64]
    if result.paid_fen is not None:
        payout.provider_paid_fen = result.paid_fen


def _fill(payout: Payout, target: PayoutStatus, result: Result) -> None:
    if target is S.paid:
        payout.paid_at = utcnow()
        payout.last_error = None
    elif target is S.awaiting_user:
        payout.client_action = result.client_action or payout.client_action
        payout.expires_at = payout.expires_at or result.expires_at
    else:
        payout.last_error = (result.reason or result.outcome.value)[:500]
    if target is not S.awaiting_user:
        payout.client_action = None  # present only while the shopper must act
    payout.processing_at = None


def drive(ids: list[str], extra: int = 0) -> dict[str, str]:
    """Claim, call (concurrently) and apply; returns each touched payout's status."""
    work = claim([uuid.UUID(i) for i in ids], extra)
    return _run(work)


def pay_and_claim(work: list[Work], size: int) -> tuple[dict[str, str], list[Work]]:
    """Pay a claimed batch; the transaction that records its answers also claims the next
    ``size`` pending payouts (one commit per batch). Returns the statuses and the next batch.

    A crash before that commit leaves this batch ``processing`` (its numbers are queried, as
    after any lost answer) and the next one ``pending``; after it, the next batch waits
    ``processing`` with no call made, and the query finds nothing and sends the same number.
    """
    if any(w.action not in ("send", "refuse") for w in work):  # resolves re-send: own commits
        out = _run(work)
        return out, claim([], size) if size else []
    results = _calls(work)
    out = apply_all(_answers(work, results), commit=False)
    return out, claim([], size)  # commits the answers too, even when it claims nothing


def _answers(work: list[Work], results: list[tuple[str, Result]]) -> list[tuple[str, str, Result]]:
    return [(w.order.payout_id, name, r) for w, (name, r) in zip(work, results, strict=True)]


def check(ids: list[str], *, expire: bool) -> dict[str, str]:
    """Query (or cancel, when expired) payouts waiting for the shopper."""
    rows = _locked([uuid.UUID(i) for i in ids], (S.awaiting_user,), len(ids))
    memo: dict[object, object] = {}
    orders.prefetch_openids(rows, memo)
    work = [Work(orders.build(p, memo)[0], "expire" if expire else "check") for p in rows]
    db.commit()
    return _run(work)


def _run(work: list[Work]) -> dict[str, str]:
    out: dict[str, str] = {}
    while work:
        again = []
        results = _calls(work)
        out.update(apply_all(_answers(work, results)))
        for item, (_, result) in zip(work, results, strict=True):
            if item.action == "resolve" and result.outcome is Outcome.not_found:
                again += _resend(item)
        work = again
    return out


def apply_all(answers: list[tuple[str, str, Result]], *, commit: bool = True) -> dict[str, str]:
    """Apply a batch of answers in one transaction (one commit), locks in the one order.

    Campaign and tier rows of the answers that return money are locked first, then each
    award and payout in id order. Losing this commit loses nothing: the payouts stay
    ``processing`` and their numbers are queried again.
    """
    releasing = sorted({uuid.UUID(pid) for pid, _, r in answers
                        if r.outcome in (Outcome.failed, Outcome.cancelled)})  # fmt: skip
    if releasing:
        states.lock_for_release(*releasing)
    rows = lock_rows(sorted({uuid.UUID(pid) for pid, _, _ in answers}))
    out, announce = {}, list[events.Event]()
    for payout_id, name, result in answers:
        payout = rows.get(uuid.UUID(payout_id))
        status = None if payout is None else _apply_to(payout, name, result, announce=announce)
        out[payout_id] = status.value if status else "missing"
    events.publish_many(announce)  # the batch's webhook events: one query, not one per payout
    if commit:
        db.commit()
    return out


def _resend(item: Work) -> list[Work]:
    """WeChat has no payment under the number: send it again (same number) or give up."""
    if restamp(item.order.payout_id):
        return [Work(item.order, "send")]
    give_up = Result(Outcome.failed, error_code="ATTEMPTS_EXHAUSTED",
                     reason="attempts_exhausted: WeChat has no such payment")  # fmt: skip
    apply(item.order.payout_id, "none", give_up)
    db.commit()
    return []


def _calls(work: list[Work]) -> list[tuple[str, Result]]:
    if len(work) == 1:
        return [call(work[0])]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return list(_pool().map(lambda w: _in_app(app, w), work))


_POOL: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's pool for provider calls (kept across batches: its threads keep their
    pooled keep-alive connections; a forked work-horse builds its own)."""
    pid = os.getpid()
    pool = _POOL.get(pid)
    if pool is None:
        _POOL.clear()
        size = max(setting("PAYOUT_CALL_THREADS", 16), 1)
        pool = _POOL[pid] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="payout")
    return pool


def _in_app(app: Any, work: Work) -> tuple[str, Result]:
    with app.app_context():
        return call(work)
