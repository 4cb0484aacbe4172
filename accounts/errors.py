"""Errors of authentication and authorization."""

from core.errors import DomainError, Forbidden, InvalidInput


class Unauthenticated(DomainError):
    reason = "unauthenticated"
    http_status = 401
    message = "A valid bearer token is required."


class InvalidToken(Unauthenticated):
    reason = "invalid_token"
    message = "The token is invalid."


class TokenExpired(Unauthenticated):
    reason = "token_expired"
    message = "The token has expired; log in again."


class InvalidCredentials(Unauthenticated):
    reason = "invalid_credentials"
    message = "Wrong email or password."


class ConsumerErased(Unauthenticated):
    """The token's consumer erased themselves (or never existed): their tokens stop working."""

    reason = "token_revoked"
    message = "This account no longer exists; log in again."


class WrongTokenKind(Forbidden):
    reason = "wrong_token_kind"
    message = "This endpoint needs a different kind of token."


class RoleForbidden(Forbidden):
    reason = "role_forbidden"
    message = "Your role does not allow this."


class SlugTaken(DomainError):
    reason = "slug_taken"
    http_status = 409
    message = "A brand with this slug already exists."


class EmailTaken(DomainError):
    reason = "email_taken"
    http_status = 409
    message = "A staff user with this email already exists."


class LastOwner(DomainError):
    reason = "last_owner"
    http_status = 409
    message = "This is the brand's last active owner; make another owner first."


class PayoutProviderNotAllowed(InvalidInput):
    reason = "payout_provider_not_allowed"
    message = "This payout provider cannot be used in this deployment."
