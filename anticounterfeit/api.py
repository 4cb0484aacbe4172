"""Products, lots, code batches, printer files and label sheets (brand console)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from accounts.auth import current_actor, current_brand, staff_required
from accounts.models import Role
from anticounterfeit import keys, labels, service
from anticounterfeit.models import CodeBatch, CodeKeyRecord, Product, ProductBatch
from anticounterfeit.schemas import (
    CodeBatchCreateSchema,
    CodeBatchSchema,
    CodeKeySchema,
    LotCreateSchema,
    LotSchema,
    ProductCreateSchema,
    ProductSchema,
    RangeQuerySchema,
    RevokeSchema,
)

blp = Blueprint("codes", __name__, url_prefix="/api/v1", description="Products and codes")
EDITORS = (Role.marketer, Role.operator)


@blp.route("/products")
class Products(MethodView):
    @staff_required()
    @blp.response(200, ProductSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[Product]:
        """The brand's products, newest first."""
        rows, total = service.list_products(
            current_brand(), pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return rows

    @staff_required(*EDITORS)
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    def post(self, body: service.NewProduct) -> Product:
        """Register a product (GTIN check digit validated)."""
        return service.create_product(current_brand(), body)


@blp.get("/products/<product_id>")
@staff_required()
@blp.response(200, ProductSchema)
def get_product(product_id: str) -> Product:
    """One product."""
    return service.get_product(current_brand(), product_id)


@blp.post("/products/<product_id>/batches")
@staff_required(*EDITORS)
@blp.arguments(LotCreateSchema)
@blp.response(201, LotSchema)
def create_lot(body: service.NewLot, product_id: str) -> ProductBatch:
    """Add a production lot to a product."""
    brand = current_brand()
    return service.create_lot(brand, service.get_product(brand, product_id), body)


@blp.route("/code-batches")
class CodeBatches(MethodView):
    @staff_required()
    @blp.response(200, CodeBatchSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    def get(self, pagination_parameters: Any) -> list[CodeBatch]:
        """The brand's code batches, newest first."""
        rows, total = service.list_code_batches(
            current_brand(), pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return rows

    @staff_required(*EDITORS)
    @blp.arguments(CodeBatchCreateSchema)
    @blp.response(201, CodeBatchSchema)
    def post(self, body: service.NewCodeBatch) -> CodeBatch:
        """Reserve a batch of up to 10,000,000 codes (no row per code)."""
        return service.create_code_batch(current_brand(), body)


@blp.get("/code-batches/<batch_id>")
@staff_required()
@blp.response(200, CodeBatchSchema)
def get_code_batch(batch_id: str) -> CodeBatch:
    """One code batch."""
    return service.get_code_batch(current_brand(), batch_id)


@blp.post("/code-batches/<batch_id>/activate")
@staff_required(*EDITORS)
@blp.response(200, CodeBatchSchema)
def activate_code_batch(batch_id: str) -> CodeBatch:
    """Release the batch to market."""
    batch = service.get_code_batch(current_brand(), batch_id)
    return service.activate_code_batch(batch, actor=current_actor())


@blp.post("/code-batches/<batch_id>/revoke")
@staff_required(*EDITORS)
@blp.arguments(RevokeSchema)
@blp.response(200, CodeBatchSchema)
def revoke_code_batch(body: service.Revocation, batch_id: str) -> CodeBatch:
    """Void every code of the batch."""
    batch = service.get_code_batch(current_brand(), batch_id)
    return service.revoke_code_batch(batch, body.reason, actor=current_actor())


@blp.get("/code-batches/<batch_id>/export")
@staff_required(*EDITORS)
@blp.response(200, content_type="text/csv")
def export_code_batch(batch_id: str) -> Response:
    """The printer file: CSV ``serial,code,url,pin``, streamed in serial order."""
    batch = service.get_code_batch(current_brand(), batch_id)
    job = service.export_job(batch, current_app.config["PUBLIC_BASE_URL"], actor=current_actor())
    # The job holds plain values: the rows are computed from the key alone, in constant memory,
    # after the request's transaction has ended. No request context is kept for the stream, so
    # nothing in it can reach the committed request session by accident.
    response = Response(service.csv_rows(job), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="codes-{batch.id}.csv"'
    return response


@blp.get("/code-batches/<batch_id>/labels.svg")
@staff_required(*EDITORS)
@blp.arguments(RangeQuerySchema, location="query")
@blp.response(200, content_type="image/svg+xml")
def code_batch_labels(query: service.LabelRange, batch_id: str) -> Response:
    """A printable sheet of QR labels for a serial range of the batch (at most 500)."""
    batch = service.get_code_batch(current_brand(), batch_id)
    job = service.label_job(
        batch, current_app.config["PUBLIC_BASE_URL"], query.start, query.count,
        actor=current_actor(),
    )  # fmt: skip
    return Response(labels.sheet_svg(job, batch.product.name), mimetype="image/svg+xml")


@blp.post("/code-keys/rotate")
@staff_required(Role.owner)
@blp.response(201, CodeKeySchema)
def rotate_code_key() -> CodeKeyRecord:
    """Start signing new batches with a new key version; old codes keep verifying (owner)."""
    return keys.rotate_key(current_brand(), actor=current_actor())
