"""What every domain's pages share: the posted form and its typed field readers, flash and redirect, "show the form
again with its errors" inside a savepoint, paging, and one `explain()` that turns a domain error into a message
by its (field, reason) through the message catalogue.

Messages are tables of msgids marked with `N_()`, keyed by `(field, reason)`; `"*"` stands for any field or any
reason. A value is a msgid (formatted with the error's parameters), a `(field, msgid)` pair that shows the message
beside another form field, or a function `(exc, _) -> str | (field, str)` for the few messages that are built from an
error's details. Lookup order: the exact `(field, reason)`; the reasons every form words alike (`required`,
`too_long`, `nul`, `forbidden`) for any field; `(field, "*")`; `("*", reason)`; then the domain's and the common
defaults. Pages never read the English text of an error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from jiayuan.kit.bodies import read_prefix
from jiayuan.kit.clock import TIMEZONE
from jiayuan.kit.errors import DomainError, Invalid, NotFound
from jiayuan.kit.numbers import finite
from jiayuan.web import gettext_for

T = TypeVar("T")
PAGE_SIZE = 50
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
_INDEX = re.compile(r"\[(\d+)\]")


def N_(msgid: str) -> str:  # noqa: N802 - gettext's name for "mark for translation, translate later"
    return msgid


Message = str | tuple[str, str] | Callable[[DomainError, Callable[[str], str]], "str | tuple[str, str]"]
Messages = Mapping[tuple[str, str], Message]

# Reasons worded alike whatever the field (checked before a field's own message).
FIRST_REASONS = ("required", "too_long", "nul", "forbidden")

COMMON: dict[tuple[str, str], Message] = {
    ("*", "required"): N_("Required."),
    ("*", "too_long"): N_("At most %(limit)s characters."),
    ("q", "too_long"): N_("A search term has at most %(limit)s characters."),
    ("search", "too_long"): N_("A search term has at most %(limit)s characters."),
    ("*", "nul"): N_("This text holds a character that cannot be stored."),
    ("*", "not_text"): N_("This value is not accepted."),
    ("*", "not_a_date"): N_("Enter a date."),
    ("*", "not_a_time"): N_("The time is not possible here."),
    ("*", "not_whole_number"): N_("Enter a whole number."),
    ("*", "not_a_number"): N_("Enter a number."),
    ("*", "not_an_amount"): N_("Enter an amount in yuan, such as 12.50."),
    ("*", "out_of_range"): N_("Enter a whole number from %(low)s to %(high)s."),
    ("*", "end_before_start"): N_("The end is before the start."),
    ("*", "forbidden"): N_("You may not do this."),
    ("*", "not_found"): N_("Choose one within your area."),
    ("*", "conflict"): N_("This conflicts with another record; reload and try again."),
    # The one rule for every reason given to see personal data whole (kit.text.meaningful_reason).
    ("reason", "required"): N_("Give the reason in a sentence; it is recorded."),
    ("reason", "not_a_sentence"): N_("Give the reason in words: a sentence of at least %(min)s letters or Chinese "
                                     "characters, not dots, spaces or one character repeated."),
    ("reason", "too_short"): N_("Give a reason of at least %(min)s letters or Chinese characters."),
    # Exact look-ups by ID number or phone that found no one, too often (registry/people/lookups.py).
    ("*", "lookup_locked"): N_("Too many look-ups found no one: looking up by ID number or phone is paused for "
                               "%(minutes)s minutes, and the district's administrators have been told."),
    ("*", "*"): N_("This value is not accepted."),
}


# --- The posted form and its fields --------------------------------------------------------------------------


async def form_data(request: Request) -> AsyncIterator[FormData]:
    """The posted form, parsed once (the CSRF check reads the same cached form); fields are read by hand so that
    bad input comes back as a message on the page, not as a JSON 422. Uploaded files are closed after."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


PostedForm = Annotated[FormData, Depends(form_data)]


def field_text(form: FormData, name: str, limit: int = 2000) -> str:
    """A text field, stripped and cut to `limit` characters ("" when absent or a file)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def optional_text(form: FormData, name: str, limit: int = 2000) -> str | None:
    return field_text(form, name, limit) or None


def _typed(form: FormData, name: str, limit: int) -> str:
    return field_text(form, name, limit).translate(_FULL_WIDTH_DIGITS)


def field_int(form: FormData, name: str, *, blank: int | None = None) -> int | None:
    """A whole number (full-width digits too); blank gives `blank`."""
    text = _typed(form, name, 20)
    if not text:
        return blank
    try:
        return int(text)
    except ValueError:
        raise Invalid(field=name, reason="not_whole_number") from None


def field_float(form: FormData, name: str) -> float | None:
    """A finite number (full-width digits too); blank gives None; "nan", "inf" and "1e999" are refused."""
    text = _typed(form, name, 30)
    if not text:
        return None
    try:
        return finite(float(text), name)
    except ValueError:
        raise Invalid(field=name, reason="not_a_number") from None


def lenient_float(form: FormData, name: str) -> float | None:
    """A number where a bad one is simply none (a map pin's coordinates: the service then asks for a place)."""
    try:
        return field_float(form, name)
    except Invalid:
        return None


def field_date(form: FormData, name: str) -> date | None:
    text = field_text(form, name, 20)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(field=name, reason="not_a_date") from None


def field_local_time(form: FormData, name: str) -> datetime | None:
    """A datetime-local field: Beijing time, no zone on the form."""
    text = field_text(form, name, 30)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=TIMEZONE)
    except ValueError:
        raise Invalid(field=name, reason="not_a_time") from None


def field_uuid(form: FormData, name: str) -> uuid.UUID | None:
    text = field_text(form, name, 40)
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid(field=name, reason="not_found") from None


def field_yuan(form: FormData, name: str, *, field: str | None = None, blank: int | None = None,
               positive: bool = False) -> int | None:
    """An amount typed in yuan ("35", "35.50", "¥1,000", "10万") as fen; blank gives `blank`."""
    raw = field_text(form, name, 30).translate(_FULL_WIDTH_DIGITS)
    for mark in (",", "，", "¥", "￥", "元"):
        raw = raw.replace(mark, "")
    raw = raw.strip()
    if not raw:
        return blank
    factor = Decimal(1)
    if raw.endswith("万"):
        raw, factor = raw[:-1].strip(), Decimal(10000)
    try:
        fen = Decimal(raw) * factor * 100
    except InvalidOperation:
        raise Invalid(field=field or name, reason="not_an_amount") from None
    if not fen.is_finite() or fen != fen.to_integral_value() or fen < 0 or (positive and fen == 0):
        raise Invalid(field=field or name, reason="not_an_amount")
    return int(fen)


def photo_bytes(form: FormData, limit: int, name: str = "photos") -> list[bytes]:
    """The chosen photos; an empty file input sends an empty string, which is no photo. Read a chunk at a time up
    to one byte over `limit`, enough for the photo check to refuse it with the limit in the message (the body limit
    of the route refused a larger one already as it arrived)."""
    files = [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]
    return [read_prefix(f.file, limit + 1) for f in files]


def path_id(value: str) -> uuid.UUID:
    """An id from a page's path: anything that is not one is a page that does not exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(field="id") from None


def query_id(value: str | None) -> uuid.UUID | None:
    """An id from a query string; anything else is no filter (a page never fails on it)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def query_date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


# --- Flash and redirect ---------------------------------------------------------------------------------------


def flash(request: Request, text: str) -> None:
    """A message shown once, on the next page."""
    request.session["flash"] = text


def take_flash(request: Request) -> str | None:
    return request.session.pop("flash", None)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- Paging ---------------------------------------------------------------------------------------------------


def query(**params: Any) -> str:
    """A query string of the filters that are set."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "", False)})


def pages_of(total: int, page: str | int, size: int = PAGE_SIZE) -> tuple[int, int, int]:
    """(page, pages, offset) for a page number asked for by hand: never an error page."""
    pages = max((total + size - 1) // size, 1)
    number = int(page) if str(page).isdigit() else 1
    number = min(max(number, 1), pages)
    return number, pages, (number - 1) * size


# --- Errors ---------------------------------------------------------------------------------------------------

# The messages of each domain's pages by the path they serve, for errors no form catches (the app's error page).
_BY_PATH: dict[str, Messages] = {}


def register_messages(messages: Messages, *prefixes: str) -> Messages:
    """Declare the message table of the pages under `prefixes` (each a path like "/care")."""
    for prefix in prefixes:
        _BY_PATH[prefix.rstrip("/")] = messages
    return messages


def messages_for(path: str) -> Messages | None:
    """The table of the pages serving `path`: the longest registered prefix that is a whole path segment."""
    best = max((p for p in _BY_PATH if path == p or path.startswith(p + "/")), key=len, default=None)
    return _BY_PATH[best] if best is not None else None



def status_of(exc: DomainError) -> int:
    """The one status rule, for pages as for the API: the error's own (422 bad input, 403, 404, 409)."""
    return exc.status_code


def _format(_: Callable[[str], str], msgid: str, params: Mapping[str, Any]) -> str:
    text = _(msgid)
    try:
        return text % params if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return text


def explain(request: Request, exc: DomainError, messages: Messages | None = None,
            fields: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(form field, message in the reader's language) for a domain error. An index in brackets is dropped from
    the field and passed as the parameter `n`, counted from 1 (`photos[2]` → `photos`, n=3); `fields` then renames
    a field to the form's (`contacts.phone` → `contact_phone`)."""
    _ = gettext_for(request)
    raw = exc.field or "form"
    params: dict[str, Any] = dict(exc.params)
    if m := _INDEX.search(raw):
        params.setdefault("n", int(m.group(1)) + 1)
    field = _INDEX.sub("", raw)
    field = (fields or {}).get(field, field)
    reason = exc.reason
    keys = [(field, reason)]
    if reason in FIRST_REASONS:
        keys.append(("*", reason))
    keys += [(field, "*"), ("*", reason), ("*", "*")]
    for key in keys:
        for table in (messages or {}, COMMON):
            if key in table:
                found = table[key]
                if callable(found):
                    found = found(exc, _)
                    return found if isinstance(found, tuple) else (field, found)
                if isinstance(found, tuple):
                    return found[0], _format(_, found[1], params)
                return field, _format(_, found, params)
    return field, _("This value is not accepted.")  # pragma: no cover - COMMON has ("*", "*")


def form_error(request: Request, exc: DomainError, form: str = "", messages: Messages | None = None,
               fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """The error a page shows beside the field it names, in the form it came from."""
    field, message = explain(request, exc, messages, fields)
    return {"form": form, "field": field, "message": message, field: message}


@dataclass
class Refused:
    """A use case refused: the errors to show beside the form, and the page's status."""

    errors: dict[str, str]
    status: int
    error: DomainError


def attempt(request: Request, session: Session, action: Callable[[], T], *, form: str = "",
            messages: Messages | None = None, fields: Mapping[str, str] | None = None) -> T | Refused:
    """Run `action()` inside a savepoint. On a domain error nothing it wrote stays (the request's unit of work
    still commits what came before, such as an audit entry), and the result says what to show again."""
    try:
        with session.begin_nested():
            return action()
    except DomainError as exc:
        return Refused(form_error(request, exc, form, messages, fields), status_of(exc), exc)


# --- Formatting shared by pages -------------------------------------------------------------------------------


def hours(minutes: int | None) -> str:
    """Minutes as hours with one decimal, e.g. 90 → "1.5" (volunteer hours, an activity's length)."""
    value = round((minutes or 0) / 60, 1)
    return f"{value:g}" if value != int(value) else str(int(value))
