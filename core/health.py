"""Liveness: answers without touching the database or Redis (load balancers, benchmarks)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


@blp.get("/health")
@blp.response(200, HealthSchema)
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}
