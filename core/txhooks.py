"""Callbacks tied to the fate of the current transaction: run on commit, or on rollback.

Used for side effects outside the database that must follow it: jobs are sent only after a
commit, and Redis reservations taken during a transaction are released if it rolls back.
Savepoints do not count: only the outermost transaction's end decides (a callback registered
inside a savepoint that rolls back still runs at the outer commit, so jobs re-read their rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_ON_COMMIT = "txhooks.on_commit"
_ON_ROLLBACK = "txhooks.on_rollback"

Callback = Callable[[], None]


def _open(session: Session) -> None:
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still counts


def on_commit(session: Session, callback: Callback) -> None:
    """Run ``callback`` after the current transaction commits; never if it rolls back."""
    _open(session)
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def on_rollback(session: Session, callback: Callback) -> None:
    """Run ``callback`` if the current transaction rolls back (or is abandoned); never on commit."""
    _open(session)
    session.info.setdefault(_ON_ROLLBACK, []).append(callback)


def _run(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The transaction's outcome is settled; a failed side effect is repaired by sweeps.
            log.exception("transaction callback %r failed", callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy also fires after_commit when a savepoint is released
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_ON_COMMIT, []))


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # after_commit has already taken the callbacks of a committed transaction; whatever is left
    # when the outermost transaction ends was rolled back or abandoned.
    if transaction.parent is None:
        session.info.pop(_ON_COMMIT, None)
        _run(session.info.pop(_ON_ROLLBACK, []))
