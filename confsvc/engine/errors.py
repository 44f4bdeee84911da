"""Errors the engine raises to its callers (the API maps them like domain errors)."""

from __future__ import annotations

from confsvc.domain import DomainError


class NotFound(DomainError):
    """Unknown id, or another tenant's: the two look the same from outside."""

    http_status = 404

    def __init__(self, entity: str, id: str) -> None:
        super().__init__(f"{entity} {id} not found", code=f"{entity}_not_found")


class AsteriskUnavailable(DomainError):
    """Asterisk did not do what was asked (down, or refused): nothing was changed."""

    code = "asterisk_unavailable"
    http_status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message)
