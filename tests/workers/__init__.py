"""Tests of the job machinery; ``run_workers`` drains the queues for any test that needs it."""

from rq import SimpleWorker
from rq.serializers import JSONSerializer


def run_workers() -> None:
    """Drain the queues with a real RQ worker (no-op in embedded mode: jobs ran inline)."""
    from core.broker import QUEUES, current_broker

    if current_broker().embedded:
        return
    SimpleWorker(list(QUEUES), connection=current_broker().redis, serializer=JSONSerializer).work(
        burst=True
    )
