"""Pieces the services' pages share: weekday labels and week summaries, amounts typed in yuan, messages by form
field, and the context every page of the domain uses."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from fastapi import Request

from jiayuan.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from jiayuan.services.present import base_context, unit_choices  # noqa: F401 - until the pages use jiayuan.page_kit
from jiayuan.web import gettext_for

_BRACKETS = re.compile(r"\[\d+\]$")


# Labels, money on forms, errors by field.


def parse_yuan(text: str, field: str = "amount_fen") -> int:
    """An amount typed in yuan ("100000", "100,000.00", "10万") as fen."""
    raw = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    factor = Decimal(1)
    if raw.endswith("万"):
        raw, factor = raw[:-1].strip(), Decimal(10000)
    try:
        fen = Decimal(raw) * factor * 100
    except InvalidOperation:
        raise Invalid("not an amount", field=field) from None
    if fen != fen.to_integral_value() or fen <= 0:
        raise Invalid("must be more than 0, in yuan with at most 2 decimals", field=field)
    return int(fen)


def explain(request: Request, exc: DomainError) -> tuple[str, str]:
    """(form field, message in the reader's language) for an error of the services' use cases."""
    _ = gettext_for(request)
    field = _BRACKETS.sub("", exc.field or "form")
    message = exc.message or ""
    if isinstance(exc, Forbidden):
        return field, _("You may not do this.")
    if isinstance(exc, NotFound):
        return field, _("Choose one within your area.")
    if isinstance(exc, Conflict):
        conflicts = {"name": _("This name is already used here."),
                     "year": _("This centre already has its subsidy for that year."),
                     "person_id": _("This person is already enrolled."),
                     "active": _("The centre is not in operation.")}
        return field, conflicts.get(field, _("This conflicts with another record; reload and try again."))
    if message == "required":
        return field, _("Required.")
    if message.startswith("at most ") and message.endswith(" characters"):
        return field, _("At most %(n)s characters.") % {"n": message.split()[2]}
    if field.startswith(("hours_", "hours")):
        if "HH:MM" in message:
            return field, _("Write times as HH:MM, from 00:00 to 23:59.")
        if "start must be before" in message:
            return field, _("Each interval must start before it ends.")
        if "overlaps" in message:
            return field, _("Two intervals of the day overlap.")
        if "mark it closed" in message:
            return field, _("Give the day's hours, or mark it closed.")
        if "closed day" in message:
            return field, _("A closed day has no hours.")
        return field, _("Write each interval as 08:30-12:00, separated by commas.")
    known = {
        "name": _("Please enter the name."),
        "unit_code": _("Choose a street or community in your area."),
        "kind_code": _("Choose a kind."),
        "capacity": _("A whole number, 0 or more."),
        "phone": _("Enter a landline with its area code (0796-8221234) or an 11-digit mobile number."),
        "facilities": _("Separate facilities with commas; each at most 30 characters."),
        "lat": _("Give a latitude and longitude inside the unit, or neither."),
        "lon": _("Give a latitude and longitude inside the unit, or neither."),
        "day": _("Choose a day within the past week.") if "recorded within" in message or "not come" in message
        else _("Enter a date."),
        "amount_fen": _("Enter an amount in yuan, more than 0."),
        "year": _("Choose a year."),
        "organization_id": _("Choose an organization of the district."),
        "target_tags": _("Choose groups from the list."),
        "ends_on": _("The end date is before the start date."),
        "person_id": _("The person lives outside the area the project serves.") if "outside" in message
        else _("Choose a person."),
        "held_on": _("A date, not in the future."),
        "enrolled_on": _("A date, not in the future."),
        "left_on": _("A date, not in the future."),
        "title": _("Required."),
        "participants": _("A whole number, 0 or more."),
    }
    return field, known.get(field, _("This value is not accepted."))


def form_error(request: Request, exc: DomainError, form: str = "") -> dict[str, str]:
    field, message = explain(request, exc)
    return {"form": form, "field": field, "message": message, field: message}


def status_of(exc: DomainError) -> int:
    return exc.status_code if exc.status_code in (403, 409, 422) else 422
