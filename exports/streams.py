"""What can be exported: one stream per record kind, with its fields and who may read it.

Each stream reads one table that carries ``tx_seq`` (``core.db.export_key``) and the index
``(brand_id, tx_seq, id)``. A field is a column (or an expression over the row) and how it is
written in JSON: ids and timestamps as strings, serial numbers as strings (as the rest of the
API), JSON columns as JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, case, null

from accounts.models import Role
from anticounterfeit.models import ScanEvent
from campaigns.models import Award, CampaignKind, Payout, PointsEntry
from channel.models import ChannelEvent
from core.audit import AuditEntry
from exports.errors import UnknownStream
from fraud.models import FraudDecision
from profiles.models import Feedback


class Kind(enum.Enum):
    VALUE = "value"  # a string, number, boolean or null as it is
    ID = "id"  # a UUID, as its string
    TIME = "time"  # an ISO 8601 timestamp with its offset (UTC)
    TEXT = "text"  # an integer written as a string (serial numbers)
    JSON = "json"  # a JSON column, embedded


@dataclass(frozen=True)
class Field:
    name: str
    expr: ColumnElement[Any]
    kind: Kind = Kind.VALUE


@dataclass(frozen=True)
class Stream:
    """One export stream: the table it pages, its record fields and the roles that read it."""

    name: str
    table: Table
    fields: tuple[Field, ...]
    #: Besides owners (who read everything); empty: every staff role.
    roles: tuple[Role, ...] = ()
    owners_only: bool = False


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _ids(table: Table, *names: str) -> list[Field]:
    return [Field(name, table.c[name], Kind.ID) for name in names]


def _values(table: Table, *names: str) -> list[Field]:
    return [Field(name, table.c[name]) for name in names]


def _times(table: Table, *names: str) -> list[Field]:
    return [Field(name, table.c[name], Kind.TIME) for name in names]


def _scans() -> Stream:
    t = _table(ScanEvent)
    return Stream("scans", t, (
        Field("scan_id", t.c.id, Kind.ID), *_ids(t, "code_batch_id"),
        Field("serial", t.c.serial, Kind.TEXT),
        *_values(t, "verdict"), *_ids(t, "consumer_id"),
        *_values(t, "device_id", "ip", "lat", "lng", "accuracy_m", "province", "city", "scene",
                 "pin_verified"),
        *_times(t, "created_at"),
    ))  # fmt: skip


def _awards() -> Stream:
    t = _table(Award)
    cash = t.c.kind == CampaignKind.red_packet
    return Stream("awards", t, (
        Field("award_id", t.c.id, Kind.ID),
        *_ids(t, "campaign_id", "draw_id", "scan_id", "consumer_id", "code_key_id"),
        Field("serial", t.c.serial, Kind.TEXT), *_values(t, "kind"),
        Field("amount_fen", case((cash, t.c.amount), else_=null())),
        Field("points", case((cash, null()), else_=t.c.amount)),
        *_values(t, "status", "cancel_reason"), *_times(t, "created_at", "updated_at"),
    ))  # fmt: skip


def _payouts() -> Stream:
    t = _table(Payout)
    return Stream("payouts", t, (
        Field("payout_id", t.c.id, Kind.ID), *_ids(t, "award_id"),
        *_values(t, "provider", "out_trade_no", "amount_fen", "status", "attempts", "round",
                 "provider_reference", "last_error"),
        *_times(t, "created_at", "updated_at", "paid_at", "expires_at"),
    ))  # fmt: skip


def _points() -> Stream:
    t = _table(PointsEntry)
    return Stream("points", t, (
        Field("points_entry_id", t.c.id, Kind.ID), *_ids(t, "consumer_id"),
        *_values(t, "kind"), Field("points", t.c.delta), *_values(t, "reason", "remaining"),
        *_ids(t, "campaign_id", "award_id", "redemption_id", "scan_id", "credit_id"),
        *_times(t, "expires_at", "created_at"),
    ))  # fmt: skip


def _channel_events() -> Stream:
    t = _table(ChannelEvent)
    return Stream("channel_events", t, (
        Field("channel_event_id", t.c.id, Kind.ID),
        *_values(t, "action", "code_ref", "code_level"),
        *_ids(t, "code_batch_id", "partner_id", "clerk_id", "to_partner_id"),
        *_values(t, "units", "lat", "lng", "province", "city"), *_times(t, "created_at"),
    ))  # fmt: skip


def _fraud_decisions() -> Stream:
    t = _table(FraudDecision)
    return Stream("fraud_decisions", t, (
        Field("fraud_decision_id", t.c.id, Kind.ID), *_ids(t, "case_id"),
        *_values(t, "decision"), *_ids(t, "staff_id"), *_values(t, "note"),
        Field("award_ids", t.c.award_ids, Kind.JSON), *_times(t, "created_at"),
    ), roles=(Role.operator, Role.analyst))  # fmt: skip


def _feedback() -> Stream:
    t = _table(Feedback)
    return Stream("feedback", t, (
        Field("feedback_id", t.c.id, Kind.ID), *_ids(t, "consumer_id", "scan_id", "product_id"),
        *_values(t, "rating"), Field("tags", t.c.tags, Kind.JSON), *_values(t, "comment"),
        *_times(t, "created_at"),
    ), roles=(Role.marketer, Role.analyst))  # fmt: skip


def _audit() -> Stream:
    t = _table(AuditEntry)
    return Stream("audit", t, (
        Field("audit_id", t.c.id, Kind.ID), *_times(t, "at"), *_ids(t, "staff_id"),
        *_values(t, "action", "target", "ip"), Field("changes", t.c.changes, Kind.JSON),
    ), owners_only=True)  # fmt: skip


STREAMS: dict[str, Stream] = {
    s.name: s
    for s in (
        _scans(), _awards(), _payouts(), _points(), _channel_events(), _fraud_decisions(),
        _feedback(), _audit(),
    )
}  # fmt: skip


def get_stream(name: str) -> Stream:
    """The stream called ``name`` (404 ``unknown_stream`` otherwise)."""
    stream = STREAMS.get(name)
    if stream is None:
        raise UnknownStream()
    return stream


def may_read(stream: Stream, role: Role) -> bool:
    """Whether a staff role may read the stream (owners read every stream)."""
    if role is Role.owner:
        return True
    return not stream.owners_only and (not stream.roles or role in stream.roles)
