"""The application factory: configuration, extensions, the error envelope and blueprints.

No routes, queries or network calls here; ``gunicorn "app:create_app()"`` serves it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, send_from_directory
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

import core.events
import core.inputs
import core.logging
import core.metrics
import core.security
from core.api import (
    api,
    domain_error_response,
    http_error_response,
    redis_error_response,
    unexpected_error_response,
    validation_error_response,
)
from core.broker import broker
from core.db import db, resolve_database_url
from core.errors import DomainError

ROOT = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into ``instance/``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


WECHAT_DEFAULTS = (
    "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_PAY_MCH_ID", "WECHAT_PAY_API_KEY",
    "WECHAT_PAY_MCH_CERT", "WECHAT_PAY_MCH_KEY", "WECHAT_PAY_APIV3_KEY", "WECHAT_PAY_PRIVATE_KEY",
    "WECHAT_PAY_CERT_SERIAL", "WECHAT_PAY_PUBLIC_KEY", "WECHAT_PAY_PUBLIC_KEY_ID",
)  # fmt: skip


def config_from_env(instance: Path) -> dict[str, Any]:
    """The configuration of API.md, read from the environment once."""
    env = os.environ
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": resolve_database_url(
            env.get("DATABASE_URL", "sqlite:///instance/app.db"), ROOT
        ),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": _secret_key(instance),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://localhost:5000").rstrip("/"),
        "WECHAT_API_BASE_URL": env.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com/"),
        "WECHAT_PAY_API_BASE_URL": env.get(
            "WECHAT_PAY_API_BASE_URL", "https://api.mch.weixin.qq.com/"
        ),
        "WECHAT_PAY_CA_BUNDLE": env.get("WECHAT_PAY_CA_BUNDLE") or None,
        "WECHAT_TIMEOUT_SECONDS": float(env.get("WECHAT_TIMEOUT_SECONDS", "5")),
        "PAYOUT_PROVIDER": env.get("PAYOUT_PROVIDER") or None,  # checked by campaigns.payouts
        "PAYOUT_RATE_PER_MERCHANT": int(env.get("PAYOUT_RATE_PER_MERCHANT", "30")),
        "WECHAT_PAY_NOTIFY_BASE_URL": env.get("WECHAT_PAY_NOTIFY_BASE_URL") or None,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "SCAN_RETENTION_DAYS": int(env.get("SCAN_RETENTION_DAYS", "1095")),
        "EPCIS_MAX_DOCUMENT_BYTES": int(env.get("EPCIS_MAX_DOCUMENT_BYTES", str(4 * 1024 * 1024))),
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "LOG_FORMAT": env.get("LOG_FORMAT", "json").strip().lower(),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").strip().upper(),
        "WEBHOOK_ALLOW_LOOPBACK": _env_bool("WEBHOOK_ALLOW_LOOPBACK", False),
        "WEBHOOK_TIMEOUT_SECONDS": float(env.get("WEBHOOK_TIMEOUT_SECONDS", "5")),
        "WEBHOOK_RETRY_SCHEDULE": env.get("WEBHOOK_RETRY_SCHEDULE") or None,
        "WEBHOOK_CA_BUNDLE": env.get("WEBHOOK_CA_BUNDLE") or None,
    }
    config.update({name: env.get(name) or None for name in WECHAT_DEFAULTS})
    return config


API_SETTINGS: dict[str, Any] = {
    "API_TITLE": "One-item-one-code engagement API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    # Served by this app, never from a CDN (see ``_register_docs_assets``).
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
    "JSON_AS_ASCII": False,
}


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building its signer on every request: the API
    authenticates with bearer tokens and sets no session cookie, so most requests carry none."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ:  # most API calls: not even a header to parse
            return self.session_class()
        return super().open_session(app, request)


def _register_errors(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(ValidationError, validation_error_response)
    app.register_error_handler(RedisError, redis_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, unexpected_error_response)


def _register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def import_models() -> None:
    """Import every package's models so that the metadata is complete (Alembic, tests)."""
    import accounts.models  # noqa: F401
    import anticounterfeit.models  # noqa: F401
    import campaigns.models  # noqa: F401
    import channel.models  # noqa: F401
    import console.models  # noqa: F401
    import core.audit  # noqa: F401
    import exports.models  # noqa: F401
    import exports.webhooks.models  # noqa: F401
    import fraud.models  # noqa: F401
    import profiles.models  # noqa: F401
    import provenance.models  # noqa: F401


def init_caches(app: Flask) -> None:
    """The process-wide caches, each an extension made here and reached one way
    (``current_app.extensions``), never created lazily on the request path. Tests call this
    again to start each test with empty ones."""
    import anticounterfeit.keys
    import anticounterfeit.scans.batchcache
    import campaigns.cache
    import channel.verdictnotes
    import core.crypto

    core.crypto.init_app(app)  # the secrets-at-rest key, derived from SECRET_KEY once
    anticounterfeit.keys.init_app(app)  # code keys: verifying a code reads no row
    anticounterfeit.scans.batchcache.init_app(app)  # batches by code key (the scan path)
    campaigns.cache.init_app(app)  # active campaigns by brand (the draw path)
    channel.verdictnotes.init_app(app)  # batches in the channel (the verdict's notes)


def _register_blueprints(app: Flask) -> None:
    from accounts.api import blp as accounts_api
    from accounts.auth import register_consumer_status
    from accounts.cli import brand_cli, staff_cli
    from accounts.service import on_brand_updated
    from anticounterfeit.api import blp as codes_api
    from anticounterfeit.cli import codes_cli, scans_cli
    from anticounterfeit.scans import writebehind
    from anticounterfeit.scans.notes import register_note_source
    from campaigns import erasure as campaigns_erasure
    from campaigns import service as campaigns_service
    from campaigns.api import blp as campaigns_api
    from campaigns.cache import campaigns_changed
    from campaigns.payouts import service as payouts_service
    from campaigns.payouts.api import blp as payouts_api
    from campaigns.payouts.cli import payouts_cli
    from campaigns.payouts.views import bp as pay_notify
    from channel import erasure as channel_erasure
    from channel import jobs as channel_jobs
    from channel import story as channel_story
    from channel import verdictnotes as channel_notes
    from channel.api import blp as channel_api
    from channel.views import bp as channel_pages
    from console import rollups
    from console.api import blp as reports_api
    from console.views import bp as console_pages
    from core.health import blp as health_api
    from engagement.api import blp as scans_api
    from engagement.demo import demo_command
    from engagement.views import bp as pages
    from exports.api import blp as exports_api
    from exports.cli import export_command
    from exports.webhooks import erasure as webhook_erasure
    from exports.webhooks import events as webhook_events
    from exports.webhooks import sources as webhook_sources
    from exports.webhooks.api import blp as webhooks_api
    from fraud import erasure as fraud_erasure
    from fraud import jobs as fraud_jobs
    from fraud.api import blp as fraud_api
    from profiles.api import blp as profiles_api
    from profiles.derived.jobs import scans_flushed
    from profiles.derived.scans import register_reward_windows
    from profiles.erasure import register_erasure_step
    from profiles.flags import consumer_flags
    from profiles.me_api import blp as privacy_api
    from profiles.segments.api import blp as segments_api
    from provenance.api import blp as provenance_api
    from provenance.unit import register_lifecycle_source
    from provenance.views import bp as story_pages
    from workers.cli import worker_command
    from workers.sweeps import scheduler_command

    api.register_blueprint(health_api)
    api.register_blueprint(accounts_api)
    api.register_blueprint(profiles_api)
    api.register_blueprint(privacy_api)
    api.register_blueprint(segments_api)
    api.register_blueprint(codes_api)
    api.register_blueprint(scans_api)
    api.register_blueprint(campaigns_api)
    api.register_blueprint(payouts_api)
    app.register_blueprint(pay_notify)
    api.register_blueprint(channel_api)
    api.register_blueprint(fraud_api)
    api.register_blueprint(reports_api)
    api.register_blueprint(exports_api)
    api.register_blueprint(webhooks_api)
    app.register_blueprint(pages)
    app.register_blueprint(console_pages)
    api.register_blueprint(provenance_api)
    app.register_blueprint(story_pages)
    app.register_blueprint(channel_pages)
    app.cli.add_command(brand_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(codes_cli)
    app.cli.add_command(scans_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(payouts_cli)
    app.cli.add_command(export_command)
    # Lower packages learn what upper ones know through registrations, not imports.
    register_consumer_status(consumer_flags)  # accounts.auth: erased tokens, consents
    register_erasure_step(campaigns_erasure.settle_payouts)  # an erasure settles money first
    register_erasure_step(channel_erasure.forget_clerk)  # then what other packages hold
    register_erasure_step(fraud_erasure.forget_appeals)
    register_erasure_step(webhook_erasure.forget_consumer)
    register_reward_windows(campaigns_service.cash_windows)  # profiles' reward sensitivity
    on_brand_updated(campaigns_changed)  # campaign snapshots carry the brand's payout terms
    on_brand_updated(payouts_service.check_running_prizes)  # a provider change they can pay
    register_note_source("channel", channel_notes.notes)  # the verdict's channel facts
    register_lifecycle_source(channel_story.lifecycle)
    writebehind.on_flushed("fraud", fraud_jobs.scans_flushed)
    writebehind.on_flushed("rollups", rollups.scans_flushed)
    writebehind.on_flushed("profiles", scans_flushed)
    writebehind.on_flushed("channel", channel_jobs.scans_flushed)
    writebehind.on_flushed("webhooks", webhook_sources.scans_flushed)
    core.events.subscribe("webhooks", webhook_events.emit, many=webhook_events.emit_events)
    _register_gauges()


def _register_gauges() -> None:
    """The figures ``/metrics`` reads from PostgreSQL and Redis at scrape time."""
    import anticounterfeit.metrics
    import campaigns.payouts.metrics
    import exports.webhooks.metrics
    import fraud.metrics

    core.metrics.add_gauges("scans", anticounterfeit.metrics.gauges)
    core.metrics.add_gauges("payouts", campaigns.payouts.metrics.gauges)
    core.metrics.add_gauges("fraud", fraud.metrics.gauges)
    core.metrics.add_gauges("webhooks", exports.webhooks.metrics.gauges)


class App(Flask):
    """Flask, remembering which views and hooks are plain functions: ``ensure_sync`` runs for
    every view decorator and hook of every request, and each time inspects the function."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        known = self._sync_functions.get(func)
        if known is None:
            known = self._sync_functions.setdefault(func, super().ensure_sync(func))
        return known

    @cached_property
    def _sync_functions(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        return {}

    def dispatch_request(self) -> ResponseReturnValue:
        """The request's one transaction boundary: the view (parse, one service call, dump) runs,
        then the transaction commits, and only then is the response finalised and sent. Any
        error, the commit's included, rolls back first and becomes an error response, so nothing
        the view built (rewards, say) is announced unless it committed."""
        try:
            rv = super().dispatch_request()
            db.commit()  # (without a session: only what ``db.after_commit`` kept)
            return rv
        except BaseException:
            db.rollback()
            raise


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; ``config`` overrides the environment (tests)."""
    app = App(__name__, instance_path=str(ROOT / "instance"), static_folder="static")
    app.config.update(API_SETTINGS)
    app.config.update(config_from_env(Path(app.instance_path)))
    app.config.update(config or {})
    from campaigns.payouts.config import check_startup

    check_startup(app)
    core.inputs.install(app)  # JSON limits, unstorable strings, page bounds, long URLs
    core.security.install(app)  # TRUSTED_PROXIES, nosniff and CSP on pages
    core.logging.install(app)  # LOG_FORMAT, request ids (X-Request-Id, envelope, job meta)
    core.metrics.install(app)  # request latency by endpoint, GET /metrics
    app.session_interface = CookieSessionInterface()
    import_models()
    db.init_app(app)
    broker.init_app(app)
    api.init_app(app)
    init_caches(app)
    _register_errors(app)
    _register_docs_assets(app)
    _register_blueprints(app)
    return app
