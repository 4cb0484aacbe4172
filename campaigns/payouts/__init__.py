"""Payouts of red packet awards: one ``Payout`` row per award, one state machine, four providers.

The row is the outbox: it is written in the transaction that creates the award, with its
provider (fixed for its life) and its ``out_trade_no`` (ours, stable across retries, <= 28
characters of [0-9A-Za-z]); its job is sent after commit and sweeps re-drive what is left.
See ``states`` (the machine), ``engine`` (claim, call, apply), ``providers`` (sandbox, WeChat
Pay v3 transfer bills, v2 mini-program and cash red packets), ``notify`` (WeChat's callbacks)
and ``reconcile``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from accounts.models import Brand
from campaigns.models import Payout, PayoutStatus
from core import txhooks
from core.db import db

_KICKED = "payouts.kick"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def out_trade_no(award_id: uuid.UUID, round_: int = 0) -> str:
    """Our payment number: 'YW' + base62 of the award id (24 characters), 'R<n>' from retry n."""
    n, digits = award_id.int, []
    while n:
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    base = "YW" + "".join(reversed(digits)).rjust(22, "0")
    return base if round_ == 0 else f"{base}R{round_}"


def award_id_of(number: str) -> uuid.UUID | None:
    """The award a trade number of ours belongs to (None: not one of ours)."""
    if len(number) < 24 or not number.startswith("YW") or not number.isalnum():
        return None
    n = 0
    for ch in number[2:24]:
        n = n * 62 + _BASE62.index(ch)
    return uuid.UUID(int=n) if n < 2**128 else None


def payout_row(award_id: uuid.UUID, brand_id: uuid.UUID, amount: int, *, provider: str,
               cleared: bool, scene: int | None, at: datetime) -> dict[str, Any]:  # fmt: skip
    """The columns of a new red packet award's payout row (the outbox: the payouts drain sends
    it after commit once ``cleared``; else the scan's fraud check clears it: ``fraud.holds``).
    Its id is the award's."""
    return dict(
        id=award_id, brand_id=brand_id, award_id=award_id, provider=provider,
        out_trade_no=out_trade_no(award_id), amount_fen=amount, status=PayoutStatus.pending,
        attempts=0, round=0, round_attempts=0, scene=scene, cleared=cleared, created_at=at,
        updated_at=at,
    )  # fmt: skip


def waits_for_fraud_check(brand: Brand | None) -> bool:
    """Whether the brand's red packets wait for their scan's fraud check (on by default)."""
    return bool(brand is None or (brand.settings or {}).get("fraud_hold_payouts", True))


def kick_after_commit() -> None:
    """Have the payouts drain run after the current transaction commits: one kick per
    transaction, however many payouts it created, sent in the commit's Redis pipeline
    (``core.txhooks.redis_on_commit``) with the transaction's other after-commit commands.
    A unit of work without a session (its payouts were written by a claim committed on its own,
    ``core.db.Database.alone_row``) begins none for this: the kick follows its ``commit``."""
    from campaigns.payouts import jobs  # jobs import this module

    if not db.session.registry.has():
        db.after_commit(jobs.kick)  # the drain's flag makes a second kick a no-op
        return
    session = db.session()
    if session.info.get(_KICKED):
        return
    session.info[_KICKED] = True
    txhooks.on_commit(session, lambda: session.info.pop(_KICKED, None))
    txhooks.on_rollback(session, lambda: session.info.pop(_KICKED, None))
    if jobs.inline():
        txhooks.on_commit(session, jobs.kick)
    else:
        txhooks.redis_on_commit(session, jobs.claim_dispatch, then=jobs.dispatch_claimed)


def pay_award_job() -> Any:
    """The RQ entry point (imported lazily: jobs import this module)."""
    from campaigns.payouts.jobs import pay_award

    return pay_award


def pay(payout_id: uuid.UUID) -> PayoutStatus | None:
    """One pass over a payout (send, or resolve an unknown outcome); idempotent."""
    from campaigns.payouts import engine

    status = engine.drive([str(payout_id)]).get(str(payout_id))
    if status is None:
        payout = db.session.get(Payout, payout_id)
        return payout.status if payout is not None else None
    return PayoutStatus(status)
