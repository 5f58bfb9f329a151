"""Numbers from outside, finite or refused.

Python's float() and every JSON parser on the way in accept NaN and the infinities ("nan", "inf", "1e999",
`NaN` in a JSON body). A NaN compares false with every bound, so a range check such as `-90 <= lat <= 90` written
as `if not …: raise` lets it through only by luck, and one written the other way round stores it (PostgreSQL keeps
NaN in a float column; SQLite turns it into NULL). So every float a schema reads is `Finite` — NaN and ±Infinity
are a 422 naming the field, whatever else is checked — and a page's or a command's number goes through `finite()`
(page_kit.field_float does)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AllowInfNan, StrictFloat, StrictInt

from jiayuan.kit.errors import Invalid

Finite = Annotated[float, AllowInfNan(False)]
# A number given as a JSON number only (no "1.5" string): whole or with decimals, finite.
StrictFinite = StrictInt | Annotated[StrictFloat, AllowInfNan(False)]


def finite(value: float, field: str) -> float:
    """`value` when it is a finite number; NaN or an infinity is refused (Invalid naming `field`)."""
    if not math.isfinite(value):
        raise Invalid(field=field, reason="not_a_number")
    return value
