"""Domain errors: raised by services, rendered by one handler as JSON or as a page.

An error names the field it concerns and carries a machine-readable `reason` with its parameters
(`Invalid(field="phone", reason="too_long", limit=20)`). Pages translate an error by (field, reason) through the
message catalogue (jiayuan.page_kit.explain), never by reading its English text; the JSON API returns the reason
and parameters beside an English message for people reading logs and API responses.
"""

from __future__ import annotations

from typing import Any

# English messages of the reasons every domain shares, for the JSON API (pages translate by reason instead).
REASON_MESSAGES: dict[str, str] = {
    "required": "required",
    "too_long": "at most {limit} characters",
    "not_text": "must be text",
    "nul": "contains a NUL character",
    "not_a_date": "not a date",
    "not_a_time": "not a time",
    "not_a_number": "must be a number",
    "not_whole_number": "must be a whole number",
    "not_an_id": "must be an id",
    "not_an_amount": "must be an amount in yuan",
    "out_of_range": "must be between {low} and {high}",
    "not_a_choice": "not one of the listed values",
    "end_before_start": "the end is before the start",
    "not_found": "no such record",
    "forbidden": "you may not do this",
    "conflict": "this conflicts with another record",
    "invalid": "not accepted",
    "too_large": "larger than {limit}",
}


class DomainError(Exception):
    status_code = 400
    code = "error"
    default_reason = "invalid"

    def __init__(self, message: str | None = None, *, field: str | None = None, details: Any = None,
                 reason: str | None = None, **params: Any) -> None:
        self.reason = reason or self.default_reason
        self.params = params
        if message is None:
            template = REASON_MESSAGES.get(self.reason, self.reason.replace("_", " "))
            try:
                message = template.format(**params)
            except (KeyError, IndexError, ValueError):
                message = template
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "reason": self.reason, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.params:
            body["params"] = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                              for k, v in self.params.items()}
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
    default_reason = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_reason = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    default_reason = "forbidden"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"
    default_reason = "unauthorized"


class TooLarge(DomainError):
    """A request body (or a file in it) over its limit: refused while it streams in, the rest never read."""

    status_code = 413
    code = "too_large"
    default_reason = "too_large"


class Unavailable(DomainError):
    """The database did not answer (a restart, a fail-over, a full pool): repeat the request, with the same
    Idempotency-Key where it has one (a commit cut off half-way may have gone through)."""

    status_code = 503
    code = "unavailable"
    default_reason = "unavailable"
