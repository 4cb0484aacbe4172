"""Tests of the job machinery; ``run_workers`` drains the queues for any test that needs it."""

from rq import SimpleWorker
from rq.serializers import JSONSerializer


def run_workers() -> None:
    """What the Procfile's processes do, now: the scan flusher writes pending scans behind (which
    sends their fraud checks), then a real RQ worker drains the queues. No-op in embedded mode:
    both ran inline."""
    from anticounterfeit.jobs import flush_scan_events
    from core.broker import QUEUES, current_broker

    if current_broker().embedded:
        return
    while flush_scan_events("tests", more=False):  # one flush, one commit, as `scans flush` does
        pass
    SimpleWorker(list(QUEUES), connection=current_broker().redis, serializer=JSONSerializer).work(
        burst=True
    )
