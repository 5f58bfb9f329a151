"""Free text with a person taken out of it: every phone and ID number in any form it is typed (spaces, dashes,
dots, +86, full-width digits), and the names given, replaced by a mark. Used where a person is erased and the text
written about them must stay readable (a case's description, an order's notes, a ledger entry's note)."""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "***"
# A digit as typed: ASCII or full-width (a Chinese input method types ０-９).
_D = "[0-9\uff10-\uff19]"
# At most one separator between two digits: a space (also the ideographic one), a dash of any width, a dot.
_S = "[ \t\u3000\\-\u2010-\u2015\u2212\uff0d.\uff0e]?"
_PLUS = "[+\uff0b]"
_EIGHT, _SIX, _ONE, _ZERO = "[8\uff18]", "[6\uff16]", "[1\uff11]", "[0\uff10]"
_MOBILE = (f"(?:(?:{_PLUS}|00)?{_EIGHT}{_SIX}{_S}|\\(\\s*{_PLUS}?{_EIGHT}{_SIX}\\s*\\){_S})?"
           f"{_ONE}{_S}[3-9\uff13-\uff19](?:{_S}{_D}){{9}}")
_ID = f"{_D}(?:{_S}{_D}){{16}}{_S}[0-9\uff10-\uff19Xx\uff38\uff58]"
# A landline with its area code (0796-8221234, 0796 8221234) or a bare local number of 7 or 8 digits; no
# separators inside either part, so that dates (2026-12-08) and decimals stay as they are.
_LANDLINE = f"(?:{_ZERO}{_D}{{2,3}}{_S})?{_D}{{7,8}}"
_NUMBERS = re.compile(f"(?<![0-9\uff10-\uff19.\uff0e])(?:{_ID}|{_MOBILE}|{_LANDLINE})(?![0-9\uff10-\uff19Xx\uff38\uff58])")
MIN_NAME = 2  # a single character would blank that character everywhere in the text


def redact(text: str | None, names: Iterable[str | None] = ()) -> str | None:
    """`text` with every phone and ID number and each of `names` (two characters or more) replaced by MARK."""
    if not text:
        return text
    out = _NUMBERS.sub(MARK, text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= MIN_NAME}, key=len, reverse=True):
        out = out.replace(name, MARK)
    return out


def redact_values(value: object, names: Iterable[str | None] = ()) -> object:
    """The strings inside a JSON value (a dict of answers, a list) redacted; numbers and the shape kept."""
    names = tuple(names)
    if isinstance(value, str):
        return redact(value, names)
    if isinstance(value, dict):
        return {k: redact_values(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_values(v, names) for v in value]
    return value
