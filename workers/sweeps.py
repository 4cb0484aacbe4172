"""Periodic sweeps: ``flask scheduler`` enqueues each one every ``interval`` seconds.

Any number of schedulers may run: a Redis ``SET NX EX`` per sweep and interval lets only one of
them enqueue it. The sweeps themselves are idempotent (they re-drive what the database says is
unfinished), so a doubled run costs time, not correctness.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import click
from flask.cli import with_appcontext

from core.broker import check_current_redis, current_broker, queue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    """A job (dotted path) to enqueue every ``interval`` seconds on ``queue_name``."""

    func: str
    interval: int
    queue_name: str = "default"


SWEEPS = (
    Sweep("campaigns.payouts.jobs.sweep_payouts", 60, "payouts"),
    Sweep("campaigns.payouts.jobs.sweep_waiting", 300, "payouts"),
    Sweep("campaigns.payouts.jobs.reconcile_payouts", 900),
    Sweep("campaigns.jobs.reconcile_budgets", 300),
    Sweep("campaigns.jobs.expire_points", 3600),
    Sweep("profiles.erasure.sweep_erasures", 60),
    Sweep("profiles.derived.jobs.expire_window", 3600),
    Sweep("profiles.retention.pseudonymise_old_scans", 3600),
    Sweep("profiles.segments.jobs.refresh_all_members", 300),
    Sweep("fraud.jobs.sweep_unchecked", 60, "fraud"),
    Sweep("fraud.jobs.sweep_forged", 60, "fraud"),
    Sweep("console.jobs.count_forged_scans", 60),
    Sweep("console.jobs.rebuild_rollups", 600),
    Sweep("exports.webhooks.jobs.sweep_deliveries", 60, "webhooks"),
    Sweep("exports.webhooks.sources.sweep_counterfeits", 60, "webhooks"),
    Sweep("exports.webhooks.sources.sweep_budget_low", 60, "webhooks"),
)


def tick() -> list[str]:
    """Enqueue the sweeps that are due; returns their names."""
    redis, due = current_broker().redis, []
    assert redis is not None
    for sweep in SWEEPS:
        if redis.set(f"sweeps:{sweep.func}", "1", nx=True, ex=sweep.interval):
            queue(sweep.queue_name).enqueue(sweep.func)
            due.append(sweep.func)
    return due


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Enqueue what is due and exit.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Enqueue the periodic sweeps (the Procfile's ``scheduler`` process)."""
    check_current_redis()
    while True:
        for name in tick():
            log.info("enqueued sweep %s", name)
        if once:
            return
        time.sleep(5)
