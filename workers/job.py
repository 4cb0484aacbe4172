"""The job wrapper and enqueue-after-commit.

Jobs take IDs and primitives only (RQ's JSONSerializer refuses anything else at enqueue time),
run in their own app context and session, and commit exactly once. Jobs are sent only when the
transaction that asked for them commits; a rollback drops them. The committed row that a job
works on is the outbox: sweeps re-drive rows whose job was lost, so idempotency lives in the
database (state checks at the top of each job), never in RQ.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, has_app_context
from rq import get_current_job

from core import behind, txhooks
from core.broker import queue
from core.db import db
from core.logging import bind_request_id, current_request_id, reset_request_id

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
_process_app: Flask | None = None


@dataclass
class PendingJob:
    """A job to send once the current transaction commits."""

    func: Callable[..., Any]
    queue_name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


def bind_process_app(app: Flask) -> None:
    """Remember the app that jobs of this process run in (``flask worker`` calls this)."""
    global _process_app
    _process_app = app


def _job_app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    if _process_app is None:
        raise RuntimeError("jobs run under `flask --app app worker` (no application is bound)")
    return _process_app


def job(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` as one unit of work: own app context and session, one commit."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bind_request_id(_request_id_of_job())
        try:
            with _job_app().app_context(), db.own_session():
                try:
                    result = func(*args, **kwargs)
                    db.commit()
                    behind.flush()  # an RQ work-horse ends with os._exit: nothing stays queued
                    return result
                except BaseException:
                    db.rollback()
                    raise
        finally:
            reset_request_id(token)

    return run


def _request_id_of_job() -> str | None:
    """The id of the request that enqueued the running RQ job (its meta), else the current one
    (a job run inline, in the request's process)."""
    current = get_current_job()
    if current is not None and current.meta.get("request_id"):
        return str(current.meta["request_id"])
    return current_request_id()


def request_meta() -> dict[str, Any]:
    """RQ ``meta`` carrying the current request id (``meta=`` of any enqueue), so the job's
    log lines carry it too."""
    request_id = current_request_id()
    return {"request_id": request_id} if request_id else {}


def enqueue_after_commit(
    func: Callable[..., Any], *args: Any, queue_name: str = "default", **kwargs: Any
) -> None:
    """Send ``func(*args, **kwargs)`` to ``queue_name`` when the current transaction commits.

    RQ enqueue options (``job_id``, ``retry``, ``job_timeout``...) go in ``kwargs["rq"]``.
    """
    options = kwargs.pop("rq", {})
    pending = PendingJob(func, queue_name, args, kwargs, options, current_request_id())
    txhooks.on_commit(db.session(), lambda: _send(pending))


def _send(pending: PendingJob) -> None:
    q = queue(pending.queue_name)
    options = pending.options if q.is_async else {}
    if q.is_async and pending.request_id:
        options = {**options, "meta": {**options.get("meta", {}),
                                       "request_id": pending.request_id}}  # fmt: skip
    try:
        q.enqueue(pending.func, args=pending.args, kwargs=pending.kwargs, **options)
    except Exception:
        # The committed row is the outbox: a sweep re-drives it, so losing the send is safe.
        log.exception("could not send job %s", getattr(pending.func, "__name__", pending.func))
