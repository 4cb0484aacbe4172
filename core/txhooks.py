"""Callbacks tied to the fate of the current transaction: run on commit, or on rollback.

Used for side effects outside the database that must follow it: jobs are sent only after a
commit, and Redis reservations taken during a transaction are released if it rolls back.
Only the outermost transaction's commit runs the commit callbacks; savepoints scope them:

- a callback registered inside a savepoint that is *released* belongs to the enclosing
  transaction from then on (a released savepoint is not a commit: nothing runs yet);
- a savepoint that *rolls back* drops the commit callbacks registered inside it (what they
  would announce was undone) and runs its rollback callbacks at once.

So a side effect registered next to the rows it is about survives exactly when those rows do.

Redis commands after a commit (``redis_on_commit``) are sent together: every one a transaction
registered goes in one pipeline, one round trip, before the other commit callbacks run (a lone
command is sent straight, without building a pipeline).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_HOOKS = "txhooks.hooks"
_RELEASED = "txhooks.released"

Callback = Callable[[], None]
#: Queues one command on the pipeline it is given (``lambda pipe: pipe.setbit(key, n, 1)``), or
#: runs it when given the client itself (a commit with one command sends it without a pipeline).
RedisCommand = Callable[[Any], object]


def _nothing() -> None:
    pass


@dataclass
class _Hook:
    scope: SessionTransaction  # the innermost transaction it was registered in
    on_commit: bool  # False: a rollback callback
    callback: Callback
    redis: RedisCommand | None = None  # sent in the commit's pipeline, then ``then(reply)``
    then: Callable[[Any], None] | None = None


def _register(session: Session, callback: Callback, *, on_commit: bool, redis: RedisCommand |
              None = None, then: Callable[[Any], None] | None = None) -> None:  # fmt: skip
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still counts
    scope = session.get_nested_transaction() or session.get_transaction()
    assert scope is not None
    session.info.setdefault(_HOOKS, []).append(_Hook(scope, on_commit, callback, redis, then))


def on_commit(session: Session, callback: Callback) -> None:
    """Run ``callback`` after the outermost transaction commits; never if its scope rolls back."""
    _register(session, callback, on_commit=True)


def on_rollback(session: Session, callback: Callback) -> None:
    """Run ``callback`` if its scope (transaction or savepoint) rolls back; never on commit."""
    _register(session, callback, on_commit=False)


def redis_on_commit(session: Session, command: RedisCommand,
                    then: Callable[[Any], None] | None = None) -> None:  # fmt: skip
    """Send one Redis command after the outermost transaction commits (never if its scope rolls
    back), in one pipeline with the transaction's other such commands; ``then(reply)`` runs with
    its reply. A failed pipeline is logged: like any after-commit effect, sweeps repair it."""
    _register(session, _nothing, on_commit=True, redis=command, then=then)


def _send(hooks: list[_Hook]) -> None:
    from core.broker import redis_client

    try:
        if len(hooks) == 1:  # one command: no pipeline to build and reset
            assert hooks[0].redis is not None
            replies = [_reply(hooks[0].redis, redis_client())]
        else:
            pipe = redis_client().pipeline(transaction=False)
            for hook in hooks:
                assert hook.redis is not None
                hook.redis(pipe)
            replies = pipe.execute(raise_on_error=False)
    except Exception:
        log.exception("after-commit Redis commands failed")
        return
    for hook, reply in zip(hooks, replies, strict=True):
        if isinstance(reply, Exception):
            log.error("after-commit Redis command failed: %s", reply)
        elif hook.then is not None:
            run([functools.partial(hook.then, reply)])


def _reply(command: RedisCommand, client: Any) -> object:
    """Run one command straight on the client; its error as its reply (as a pipeline's)."""
    from redis.exceptions import ResponseError

    try:
        return command(client)
    except ResponseError as exc:  # the command's own failure; a lost connection still raises
        return exc


def run(callbacks: list[Callback]) -> None:
    """Run after-commit (or rollback) callbacks: one failing is logged, the others still run."""
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
    batched = [h for h in hooks if h.on_commit and h.redis is not None]
    if batched:
        _send(batched)
    run([h.callback for h in hooks if h.on_commit and h.redis is None])


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    hooks: list[_Hook] = session.info.get(_HOOKS, [])
    if transaction.parent is None:
        # after_commit has already taken the hooks of a committed transaction; whatever is
        # left when the outermost transaction ends was rolled back or abandoned.
        session.info.pop(_HOOKS, None)
        session.info.pop(_RELEASED, None)
        run([h.callback for h in hooks if not h.on_commit])
        return
    released = transaction in session.info.get(_RELEASED, set())
    session.info.get(_RELEASED, set()).discard(transaction)
    if released:
        for hook in hooks:
            if hook.scope is transaction:
                hook.scope = transaction.parent
        return
    session.info[_HOOKS] = [h for h in hooks if h.scope is not transaction]
    run([h.callback for h in hooks if h.scope is transaction and not h.on_commit])
