"""Domain errors: raised by services, rendered by one handler as JSON or as a page."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return body


class Invalid(DomainError):
    """Bad input: names the field (and the row or feature in imports)."""

    status_code = 422
    code = "invalid"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Unavailable(DomainError):
    """The database did not answer (a restart, a fail-over, a full pool): repeat the request, with the same
    Idempotency-Key where it has one (a commit cut off half-way may have gone through)."""

    status_code = 503
    code = "unavailable"
