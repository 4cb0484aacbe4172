"""``GET /metrics``: Prometheus text format for the whole service, not one process.

Two kinds of figures:

- Counted where they happen (scans by verdict, requests and their latency by endpoint), in
  ``prometheus-client`` metrics. Under gunicorn every worker writes its own memory-mapped files
  in ``PROMETHEUS_MULTIPROC_DIR`` (``gunicorn.conf.py`` makes and empties it, and its
  ``child_exit`` hook retires a dead worker's live gauges), and a scrape sums every worker's:
  one ``inc`` is a dictionary lookup and a write to a mapped page, nothing on the network.
- Read at scrape time from PostgreSQL and Redis (payouts by status, open fraud cases, queue
  depths, the scan stream's backlog, webhook deliveries), by the gauge sources that packages
  register (``add_gauges``), so they are the service's by construction.

``METRICS_TOKEN`` set: scrapes need ``Authorization: Bearer <token>``. Unset: the endpoint is
open in embedded mode (``make run``) and refused (403 ``metrics_token_required``) when
``REDIS_URL`` is set, because the figures are business data of every brand.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from core.broker import QUEUES, current_broker, queue
from core.db import db
from core.errors import DomainError

log = logging.getLogger(__name__)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCANS = Counter("yiwuyima_scans", "Scans answered (API and landing page), by verdict.",
                ["verdict"])  # fmt: skip
REQUESTS = Counter("yiwuyima_http_requests", "HTTP requests answered, by endpoint and status.",
                   ["endpoint", "method", "status"])  # fmt: skip
LATENCY = Histogram("yiwuyima_http_request_duration_seconds",
                    "Time from the request reaching Flask to its response, by endpoint.",
                    ["endpoint", "method"], buckets=BUCKETS)  # fmt: skip
_scan_counters: dict[str, Counter] = {}
_request_metrics: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}


class MetricsTokenRequired(DomainError):
    reason = "metrics_token_required"
    http_status = 403
    message = "Set METRICS_TOKEN to scrape /metrics in production."


class MetricsUnauthorized(DomainError):
    reason = "unauthenticated"
    http_status = 401
    message = "A valid metrics token is required."


def count_scan(verdict: str) -> None:
    """Count one scan's verdict (the scan path: a cached child, one increment)."""
    counter = _scan_counters.get(verdict)
    if counter is None:
        counter = _scan_counters.setdefault(verdict, SCANS.labels(verdict))
    counter.inc()


@dataclass
class Gauge:
    """A gauge family computed at scrape time: label values -> value."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    values: dict[tuple[str, ...], float] = field(default_factory=dict)


GaugeSource = Callable[[], list[Gauge]]
_sources: dict[str, GaugeSource] = {}


def add_gauges(name: str, source: GaugeSource) -> None:
    """Have ``source`` (run in the scrape's app context) add gauges to every scrape."""
    _sources[name] = source


class _ScrapeCollector(Collector):
    """The registered gauge sources, each isolated: a failing one is reported, not fatal."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("yiwuyima_metrics_source_up",
                               "1 when the gauge source answered this scrape.",
                               labels=["source"])  # fmt: skip
        for name, source in sorted(_sources.items()):
            try:
                gauges = source()
            except Exception:
                log.exception("metrics source %s failed", name)
                db.session.rollback()  # the next source starts from a usable session
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            for gauge in gauges:
                family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
                for labels, value in sorted(gauge.values.items()):
                    family.add_metric(list(labels), value)
                yield family
        yield up


def queue_gauges() -> list[Gauge]:
    """Jobs waiting, scheduled (retries), running and failed, per RQ queue."""
    if current_broker().embedded:
        return []
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    kinds = {"queued": lambda q: q.count,
             "scheduled": lambda q: ScheduledJobRegistry(queue=q).count,
             "started": lambda q: StartedJobRegistry(queue=q).count,
             "failed": lambda q: FailedJobRegistry(queue=q).count}  # fmt: skip
    depth = Gauge("yiwuyima_queue_jobs", "RQ jobs per queue and state.", ("queue", "state"))
    for name in QUEUES:
        q = queue(name)
        for kind, count in kinds.items():
            depth.values[(name, kind)] = float(count(q))
    return [depth]


def _authorised() -> None:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        if current_app.config.get("REDIS_URL"):
            raise MetricsTokenRequired()
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise MetricsUnauthorized()


def exposition() -> bytes:
    """Every metric of the service, in the text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(_ScrapeCollector())
    return generate_latest(counted) + generate_latest(scraped)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus scrape endpoint."""
    _authorised()
    # The classic text format (0.0.4): every Prometheus version scrapes it.
    return Response(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _observed(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        key = (request.endpoint or "unmatched", request.method, response.status_code)
        found = _request_metrics.get(key)
        if found is None:
            found = _request_metrics.setdefault(key, (
                LATENCY.labels(key[0], key[1]), REQUESTS.labels(key[0], key[1], str(key[2]))))
        found[0].observe(time.perf_counter() - started)
        found[1].inc()
    return response


def install(app: Flask) -> None:
    """Time every request, count it by endpoint, serve ``/metrics``, watch the queues."""
    app.before_request(_started)
    app.after_request(_observed)
    app.register_blueprint(bp)
    add_gauges("queues", queue_gauges)
