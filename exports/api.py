"""``GET /api/v1/exports/{stream}`` (NDJSON, cursor-paged) and ``GET /api/v1/audit-log``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint

from accounts.auth import current_brand, current_staff, staff_required
from accounts.models import Role
from core import audit
from core.audit import AuditEntry
from exports import service
from exports.schemas import (
    AuditEntrySchema,
    AuditQuery,
    AuditQuerySchema,
    ExportQuery,
    ExportQuerySchema,
)
from exports.streams import STREAMS

blp = Blueprint("exports", __name__, url_prefix="/api/v1", description="Data export and audit")
NDJSON = "application/x-ndjson"


@blp.get(f"/exports/<any({', '.join(STREAMS)}):stream>")
@staff_required()
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, content_type=NDJSON)
def export_stream(query: ExportQuery, stream: str) -> Response:
    """A stream's records after a cursor, oldest first, as NDJSON: each line a record with its
    own id and its `cursor`, the last line `{"next_cursor": ...}`. Following the cursors from the
    start yields every record exactly once, including records committed while paging."""
    staff = current_staff()
    page = service.open_page(
        service.readable(stream, staff.role), staff.brand_id, query.after, query.limit,
        current_app.config["SECRET_KEY"],
    )  # fmt: skip
    return Response(service.ndjson(page), mimetype=NDJSON)


@blp.get("/audit-log")
@staff_required(Role.owner)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def audit_log(query: AuditQuery, pagination_parameters: Any) -> list[AuditEntry]:
    """Sensitive staff actions, newest first (owner): who, when, from where, what changed."""
    rows, total = audit.entries(
        current_brand().id, query, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = total
    return rows
