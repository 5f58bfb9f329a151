"""Text typed by people: one cleaner for every free-text field, and phones as stored and searched."""

from __future__ import annotations

import unicodedata
from typing import Any

from jiayuan.kit.errors import Invalid


def clean_text(value: Any, field: str, limit: int, *, required: bool = False, nfkc: bool = False) -> str | None:
    """A stripped string, None when blank (`required` refuses blank). NUL is refused on both engines (PostgreSQL
    cannot store it); `nfkc` folds full-width letters and digits typed with a Chinese input method to ASCII."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(field=field, reason="required")
        return None
    if not isinstance(value, str):
        raise Invalid(field=field, reason="not_text")
    text = (unicodedata.normalize("NFKC", value) if nfkc else value).strip()
    if "\x00" in text:
        raise Invalid(field=field, reason="nul")
    if len(text) > limit:
        raise Invalid(field=field, reason="too_long", limit=limit)
    return text or None


def normalise_phone(value: str | None) -> str | None:
    """A phone as stored and searched: spaces dropped (a blind index only matches equal text)."""
    return (value or "").replace(" ", "") or None
