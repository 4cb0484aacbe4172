"""Callbacks tied to the fate of the current transaction: run on commit, or on rollback.

Used for side effects outside the database that must follow it: jobs are sent only after a
commit, and Redis reservations taken during a transaction are released if it rolls back.
Only the outermost transaction's commit runs the commit callbacks; savepoints scope them:

- a callback registered inside a savepoint that is *released* belongs to the enclosing
  transaction from then on (a released savepoint is not a commit: nothing runs yet);
- a savepoint that *rolls back* drops the commit callbacks registered inside it (what they
  would announce was undone) and runs its rollback callbacks at once.

So a side effect registered next to the rows it is about survives exactly when those rows do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_HOOKS = "txhooks.hooks"
_RELEASED = "txhooks.released"

Callback = Callable[[], None]


@dataclass
class _Hook:
    scope: SessionTransaction  # the innermost transaction it was registered in
    on_commit: bool  # False: a rollback callback
    callback: Callback


def _register(session: Session, callback: Callback, *, on_commit: bool) -> None:
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still counts
    scope = session.get_nested_transaction() or session.get_transaction()
    assert scope is not None
    session.info.setdefault(_HOOKS, []).append(_Hook(scope, on_commit, callback))


def on_commit(session: Session, callback: Callback) -> None:
    """Run ``callback`` after the outermost transaction commits; never if its scope rolls back."""
    _register(session, callback, on_commit=True)


def on_rollback(session: Session, callback: Callback) -> None:
    """Run ``callback`` if its scope (transaction or savepoint) rolls back; never on commit."""
    _register(session, callback, on_commit=False)


def _run(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The transaction's outcome is settled; a failed side effect is repaired by sweeps.
            log.exception("transaction callback %r failed", callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    nested = session.get_nested_transaction()
    if nested is not None:  # SQLAlchemy also fires after_commit when a savepoint is released
        session.info.setdefault(_RELEASED, set()).add(nested)
        return
    hooks: list[_Hook] = session.info.pop(_HOOKS, [])
    _run([h.callback for h in hooks if h.on_commit])


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    hooks: list[_Hook] = session.info.get(_HOOKS, [])
    if transaction.parent is None:
        # after_commit has already taken the hooks of a committed transaction; whatever is
        # left when the outermost transaction ends was rolled back or abandoned.
        session.info.pop(_HOOKS, None)
        session.info.pop(_RELEASED, None)
        _run([h.callback for h in hooks if not h.on_commit])
        return
    released = transaction in session.info.get(_RELEASED, set())
    session.info.get(_RELEASED, set()).discard(transaction)
    if released:
        for hook in hooks:
            if hook.scope is transaction:
                hook.scope = transaction.parent
        return
    session.info[_HOOKS] = [h for h in hooks if h.scope is not transaction]
    _run([h.callback for h in hooks if h.scope is transaction and not h.on_commit])
