"""Errors of aggregation, partners and channel scans."""

from core.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidCode(InvalidInput):
    reason = "invalid_code"
    message = "This is not a code this system issued (nor a valid SSCC)."


class UnknownCode(NotFound):
    reason = "unknown_code"
    message = "No such code in this brand."


class NotAContainer(InvalidInput):
    reason = "not_a_container"
    message = "A unit code cannot hold other codes: use a case or pallet code as the parent."


class InvalidLevel(InvalidInput):
    reason = "invalid_level"
    message = "A child must be of a lower packaging level than its parent (unit < case < pallet)."


class AggregationCycle(Conflict):
    reason = "aggregation_cycle"
    message = "The parent is inside one of the children: packing it would make a cycle."


class AlreadyAggregated(Conflict):
    reason = "already_aggregated"
    message = "A child is already packed in a parent; unpack it first."


class NotAggregated(NotFound):
    reason = "not_aggregated"
    message = "Nothing is packed in this code."


class EmptyContainer(Conflict):
    reason = "empty_container"
    message = "This case or pallet holds no units."


class UnknownPartner(NotFound):
    reason = "partner_not_found"
    message = "No such partner."


class UnknownInvite(NotFound):
    reason = "unknown_invite"
    message = "No such invite code."


class InviteExpired(Conflict):
    reason = "invite_expired"
    message = "This invite code has expired or was already used."


class InviteUsed(Conflict):
    reason = "invite_used"
    message = "This invite was already used: a clerk joined with it."


class AlreadyClerk(Conflict):
    reason = "already_clerk"
    message = "You are already a clerk of a partner."


class NotAClerk(Forbidden):
    reason = "not_a_clerk"
    message = "Only a partner's clerk may scan in the channel."


class CodeRevoked(Conflict):
    reason = "code_revoked"
    message = "Goods of a revoked code batch cannot move in the channel."


class InvalidChannelStep(Conflict):
    reason = "invalid_channel_step"
    message = "This step is out of order for the goods scanned."
