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
from typing import Any

from accounts.models import Brand
from campaigns.models import Award, Payout, PayoutStatus
from campaigns.payouts import config
from core import txhooks
from core.db import db

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


def create_payout(award: Award, *, scene: int | None = None, brand: Brand | None = None) -> Payout:
    """The payout row of a new red packet award; its job is sent when the transaction commits."""
    brand = brand or db.session.get(Brand, award.brand_id)
    provider = config.provider_for(brand) if brand is not None else config.SANDBOX
    payout = Payout(
        id=award.id, brand_id=award.brand_id, award_id=award.id, provider=provider,
        out_trade_no=out_trade_no(award.id), amount_fen=award.amount,
        status=PayoutStatus.pending, attempts=0, round=0, round_attempts=0, scene=scene,
        cleared=not waits_for_fraud_check(brand),
    )  # fmt: skip
    db.session.add(payout)
    if payout.cleared:  # else the scan's fraud check clears it and sends it (fraud.holds.clear)
        _kick_after_commit()
    return payout


def waits_for_fraud_check(brand: Brand | None) -> bool:
    """Whether the brand's red packets wait for their scan's fraud check (on by default)."""
    return bool(brand is None or (brand.settings or {}).get("fraud_hold_payouts", True))


def _kick_after_commit() -> None:
    """One drain job per transaction that created payouts (not one job per payout)."""
    session = db.session()
    if not session.info.get("payouts.kick"):
        session.info["payouts.kick"] = True

        def kick() -> None:
            from campaigns.payouts.jobs import kick as send

            session.info.pop("payouts.kick", None)
            send()

        txhooks.on_commit(session, kick)
        txhooks.on_rollback(session, lambda: session.info.pop("payouts.kick", None))


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
