"""Checks shared by several sub-domains of services (centres, projects, providers): whole numbers, flags, units in
scope, points inside their unit, public phone lines. Text is jiayuan.kit.text.clean_text; roles are each
sub-domain's policy.py."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.identity import parse_mobile
from jiayuan.units import service as units

_PHONE_NOISE = re.compile(r"[\s()（）]+")
_EXTENSION = re.compile(r"(.*\d)(?:转|ext\.?|x|-)(\d{1,6})", re.IGNORECASE)
PHONE_HINT = "a landline with its area code (0796-8221234) or an 11-digit mobile number"


def whole_number(value: Any, field: str, *, minimum: int = 0, maximum: int = 2_000_000_000) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise Invalid(f"must be a whole number from {minimum} to {maximum}", field=field)
    return value


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false", field=field)
    return value


def unit_in_scope(session: Session, principal: Principal, code: Any, lengths: tuple[int, ...], what: str,
                  field: str = "unit_code") -> str:
    """A unit the caller covers, of one of the lengths allowed (9 a street, 12 a community…); a unit outside
    the scope is a 404, as if it did not exist."""
    code = units.check_code(code, field)
    if not principal.scope.covers(code):
        raise NotFound(f"no unit {code} in your scope", field=field)
    if len(code) not in lengths:
        raise Invalid(what, field=field)
    if not units.unit_exists(session, code):
        raise Invalid(f"unknown unit {code}", field=field)
    return code


def check_point(session: Session, lat: Any, lon: Any, unit_code: str) -> tuple[float | None, float | None]:
    """Both or neither; when given, the point must lie inside the unit the record belongs to."""
    if lat is None and lon is None:
        return None, None
    if lat is None or lon is None:
        raise Invalid("give both latitude and longitude, or neither", field="lat" if lat is None else "lon")
    for name, v in (("lat", lat), ("lon", lon)):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise Invalid("must be a number", field=name)
    try:
        grid = units.locate(session, float(lat), float(lon)).chain[-1].code
    except NotFound as exc:
        raise Invalid(exc.message, field="lat", details=exc.details, reason=exc.reason, **exc.params) from None
    if not grid.startswith(unit_code):
        raise Invalid(f"the point lies in grid {grid}, outside unit {unit_code}", field="lat")
    return float(lat), float(lon)


def check_phone(value: Any, field: str = "phone") -> str | None:
    """A public line: a landline with its area code (0796-8221234, an extension after 转 or -), a 400/800
    service number, or a mainland mobile; stored in one written form."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Invalid("must be text", field=field)
    compact = _PHONE_NOISE.sub("", value.strip())
    main, extension = compact, None
    m = _EXTENSION.fullmatch(compact)
    if m and sum(c.isdigit() for c in m.group(1)) >= 10:
        main, extension = m.group(1), m.group(2)
    digits = main.replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) >= 12 and digits[2] in "01":
        digits = digits[2:]
    if not digits.isdigit():
        raise Invalid(PHONE_HINT, field=field)
    if extension is None and re.fullmatch(r"1[3-9]\d{9}", digits):
        return parse_mobile(digits, field=field)
    if extension is None and re.fullmatch(r"[48]00\d{7}", digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if digits.startswith("0") and len(digits) > 3:
        # Beijing (010) and the 02x cities have 3-digit area codes; every other area code has 4 digits.
        area = digits[:3] if digits[1] in "12" else digits[:4]
        number = digits[len(area):]
        if len(number) in (7, 8) and number[0] in "23456789":
            return f"{area}-{number}" + (f"-{extension}" if extension else "")
    raise Invalid(PHONE_HINT, field=field)
