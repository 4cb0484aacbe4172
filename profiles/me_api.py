"""The shopper's privacy and voice: consents, the privacy notice, feedback, preferences, their
data, erasure."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from accounts.auth import ConsumerIdentity, consumer_required, current_consumer
from core.lang import prefers_english
from profiles import consents, erasure, export, notice, voice
from profiles.inputs import ConsentsChange, PreferencesInput, RatingInput
from profiles.models.voice import Feedback
from profiles.schemas import (
    ConsentsSchema,
    ConsentsUpdateSchema,
    ErasureSchema,
    FeedbackCreateSchema,
    FeedbackSchema,
    NoticeSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
)

blp = Blueprint("privacy", __name__, url_prefix="/api/v1", description="Consumers: privacy")


def _me() -> ConsumerIdentity:
    consumer = current_consumer()
    assert consumer is not None
    return consumer


@blp.get("/privacy-notice")
@blp.response(200, NoticeSchema)
def privacy_notice() -> dict[str, Any]:
    """The current privacy notice (zh-CN unless Accept-Language prefers English)."""
    return notice.notice_payload(prefers_english())


@blp.route("/me/consents", methods=["GET"])
@consumer_required
@blp.response(200, ConsentsSchema)
def my_consents() -> dict[str, Any]:
    """The caller's consents and their history."""
    return consents.consents_payload(_me())


@blp.route("/me/consents", methods=["PUT"])
@consumer_required
@blp.arguments(ConsentsUpdateSchema)
@blp.response(200, ConsentsSchema)
def set_my_consents(body: ConsentsChange) -> dict[str, Any]:
    """Grant or withdraw purposes (each change recorded with the notice version)."""
    return consents.set_consents(_me(), body.purposes(), body.notice_version)


@blp.route("/me/feedback", methods=["POST"])
@consumer_required
@blp.arguments(FeedbackCreateSchema)
@blp.response(201, FeedbackSchema)
def rate_scan(body: RatingInput) -> Feedback:
    """Rate the product of one of your genuine scans (once per scan)."""
    return voice.rate(_me(), body)


@blp.route("/me/preferences", methods=["GET"])
@consumer_required
@blp.response(200, PreferencesSchema)
def my_preferences() -> dict[str, Any]:
    """What you said you would like next."""
    return voice.preferences_payload(voice.preferences(_me().consumer_id))


@blp.route("/me/preferences", methods=["PUT"])
@consumer_required
@blp.arguments(PreferencesUpdateSchema)
@blp.response(200, PreferencesSchema)
def set_my_preferences(body: PreferencesInput) -> dict[str, Any]:
    """Replace your interests and wishes."""
    return voice.preferences_payload(voice.set_preferences(_me(), body))


@blp.route("/me/data", methods=["GET"])
@consumer_required
def my_data() -> dict[str, Any]:
    """Everything the brand holds about you, as JSON."""
    return export.my_data(_me())


@blp.route("/me", methods=["DELETE"])
@consumer_required
@blp.response(202, ErasureSchema)
def erase_me() -> dict[str, Any]:
    """Erase yourself: identity and profile now, the rest within minutes."""
    row = erasure.request_erasure(_me())
    return {"id": str(row.id), "status": "erasing", "erased_at": row.erased_at}
