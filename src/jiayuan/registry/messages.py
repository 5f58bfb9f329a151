"""The registry's messages for its pages, keyed by (field, reason): what page_kit.explain() shows beside a field
when a use case refuses it. Pages never read an error's English text."""

from __future__ import annotations

from collections.abc import Callable

from jiayuan.kit.errors import DomainError, NotFound
from jiayuan.page_kit import N_, Message
from jiayuan.registry.people.service import MIN_REASON

ANY = "*"
AREA = N_("Choose one within your area.")
MOBILE = N_("Enter a mainland mobile number (11 digits).")
ROOM = N_("Choose a room in your area.")
PLACE = N_("Give a latitude and longitude inside the district, or neither.")

FILE_PROBLEMS = {
    "no_file": N_("Choose a file to import."),
    "too_large": N_("The file is larger than %(limit)s; split it into several files."),
    "empty": N_("The file is empty."),
    "xls": N_("Save the workbook as .xlsx (Excel 2007 or later) or .csv and upload it again."),
    "not_table": N_("The file must be an Excel workbook (.xlsx) or a CSV file (.csv)."),
    "unreadable": N_("The file could not be read as an Excel workbook or a CSV file."),
    "encoding": N_("The CSV file is neither UTF-8 nor GB18030 text."),
    # Files over the read limits (kit/excel.py ReadLimits), refused before their rows are read or where met.
    "too_many_rows": N_("The file holds more than %(limit)s rows; split it into several files."),
    "too_many_columns": N_("Cell %(cell)s lies beyond the %(limit)s columns an import reads; delete what is there."),
    "part_too_large": N_("The workbook unpacks to more than an import reads (part %(part)s); save it again from "
                         "Excel, or split it."),
    "compressed_too_much": N_("The workbook unpacks to far more than its size (part %(part)s): it is refused."),
    "too_many_parts": N_("The workbook holds too many parts (%(parts)s); save it again from Excel."),
}

# What each field's form asks for, shown for any refusal of the field that has no message of its own.
FIELDS: dict[str, str] = {
    "name": N_("Please enter the name."),
    "grid_code": N_("Choose a grid in your area."),
    "to_grid": N_("Choose the grid the person moves to."),
    "phone": MOBILE,
    "contact_phone": MOBILE,
    "residence_type": N_("Choose a residence type."),
    "floating_expires_on": N_("A floating resident is registered with an expiry date."),
    "starts_on": N_("Enter a date."),
    "ends_on": N_("The end date is before the start date."),
    "grade": N_("Only a disability carries a grade."),
    "tag": N_("Choose a group."),
    "relation": N_("Give the relation to the head of the household (at most 20 characters)."),
    "household_id": N_("Choose a household."),
    "room_id": ROOM,
    "to_room_id": ROOM,
    "building_id": N_("Choose a building."),
    "kind": N_("Choose a kind."),
    "status": N_("Choose a status."),
    "use": N_("Choose a use."),
    "area": N_("A positive number of square metres."),
    "floors": N_("A whole number from 1 to 200."),
    "staff_count": N_("A whole number, 0 or more."),
    "installed_on": N_("A date, not in the future."),
    "lat": PLACE,
    "lon": PLACE,
    "geometry": N_("This is not a valid polygon."),
    "id_number": N_("The last character does not match: a digit is probably mistyped."),
    "credit_code": N_("This is not a valid unified social credit code."),
}


def _not_found(field_message: str) -> Callable[[DomainError, Callable[[str], str]], str]:
    """A record out of the caller's sight is "within your area"; an id the form could not read is the field's."""
    def message(exc: DomainError, _: Callable[[str], str]) -> str:
        return _(AREA) if isinstance(exc, NotFound) else _(field_message)
    return message


def _file_problem(exc: DomainError, _: Callable[[str], str]) -> str:
    """A file that could not be read (kit.excel names the problem and the columns in the error's details)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    columns = "、".join(details.get("columns") or [])
    problem = details.get("problem", "")
    if problem == "missing_columns":
        return _("The file lacks required columns: %(columns)s. Keep the header row of the template.") % {
            "columns": columns}
    if problem == "duplicate_column":
        return _("A column appears twice in the header: %(columns)s.") % {"columns": columns}
    text = _(FILE_PROBLEMS.get(problem, FILE_PROBLEMS["unreadable"]))
    if "%(" not in text:
        return text
    params = {"limit": "", "cell": "", "part": "", "parts": "", **details}
    if isinstance(params["limit"], int):
        params["limit"] = f"{params['limit']:,}"
    try:
        return text % params
    except (KeyError, TypeError, ValueError):  # pragma: no cover - every problem's parameters are in its details
        return _(FILE_PROBLEMS["unreadable"])


def _min_reason(exc: DomainError, _: Callable[[str], str]) -> str:
    return _("Give a reason of at least %(min)s letters or Chinese characters.") % {"min": MIN_REASON}


MESSAGES: dict[tuple[str, str], Message] = {
    **{(field, ANY): message for field, message in FIELDS.items()},
    **{(field, "not_found"): _not_found(message) for field, message in FIELDS.items()},
    # Another record holds the value.
    ("id_number", "conflict"): N_("A person with this ID number is already registered in the district."),
    ("credit_code", "conflict"): N_("An organization with this credit code is already registered."),
    ("code", "conflict"): N_("A facility with this number is already registered."),
    ("name", "conflict"): N_("This name is already used here."),
    ("number", "conflict"): N_("Another room has this entrance and number."),
    ("anonymized_at", "conflict"): N_("This person has been anonymized; the record can no longer change."),
    # ID numbers and credit codes: the rule that failed.
    ("id_number", "id_length"): N_("An ID number has 18 characters."),
    ("id_number", "id_shape"): N_("An ID number is 17 digits followed by a digit or X."),
    ("id_number", "id_birth_date"): N_("The birth date in this ID number is not possible."),
    ("id_number", "id_birth_date_range"): N_("The birth date in this ID number is not possible."),
    ("credit_code", "required"): N_("A credit code is required for this kind of organization."),
    ("credit_code", "credit_length"): N_("A credit code has 18 characters."),
    ("credit_code", "check_char"): N_("The last character does not match: a character is probably mistyped."),
    # People.
    ("tag", "derived_tag"): N_("Age groups follow from the birth date in the ID number; they are not added by "
                               "hand."),
    ("to_grid", "already_there"): N_("The person already lives there."),
    ("room_id", "other_grid"): N_("This room is in another grid."),
    ("to_room_id", "other_grid"): N_("This room is in another grid."),
    ("reason", ANY): _min_reason,
    # Imports.
    ("file", ANY): _file_problem,
}
