"""Liveness: answers without touching the database or Redis (load balancers, benchmarks)."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


@blp.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}
