"""``flask worker``: run RQ workers for every queue (the Procfile's ``worker`` process)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker
from rq.serializers import JSONSerializer

from core.broker import QUEUES, check_current_redis, current_broker
from workers.job import bind_process_app


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.argument("queues", nargs=-1)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Process jobs from the given queues (default: all), with RQ's scheduler for retries."""
    bind_process_app(current_app._get_current_object())  # type: ignore[attr-defined]
    ext = current_broker()
    if ext.embedded:
        raise click.ClickException("REDIS_URL is not set: in embedded mode jobs run inline")
    check_current_redis()
    names = queues or QUEUES
    worker = Worker(list(names), connection=ext.redis, serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=True)
