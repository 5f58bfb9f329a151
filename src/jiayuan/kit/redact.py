"""Free text with a person taken out of it: every phone and ID number in any form it is typed (spaces, dashes,
dots, +86, full-width digits), and the names given, replaced by a mark. Used where a person is erased and the text
written about them must stay readable (a case's description, an order's notes, a ledger entry's note)."""

from __future__ import annotations

from collections.abc import Iterable

from jiayuan.kit.identity import ERASED as MARK
from jiayuan.kit.identity import mask_free_text

MIN_NAME = 2  # a single character would blank that character everywhere in the text


def redact(text: str | None, names: Iterable[str | None] = ()) -> str | None:
    """`text` with every phone and ID number and each of `names` (two characters or more) replaced by MARK."""
    if not text:
        return text
    out = mask_free_text(text, erase=True)
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
