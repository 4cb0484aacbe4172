"""Tests of the job machinery; ``run_workers`` drains the queues for any test that needs it."""

from rq import SimpleWorker
from rq.serializers import JSONSerializer


def run_workers() -> None:
    """Drain the queues with a real RQ worker (no-op in embedded mode: jobs ran inline)."""
    from workers import QUEUES
    from workers.broker import broker

    if broker().embedded:
        return
    SimpleWorker(list(QUEUES), connection=broker().redis, serializer=JSONSerializer).work(
        burst=True
    )
