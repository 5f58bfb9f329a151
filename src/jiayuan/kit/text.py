"""Text typed by people: one cleaner for every free-text field, search terms, and phones as stored and searched."""

from __future__ import annotations

import unicodedata
from typing import Any

from jiayuan.kit.errors import Invalid

# The longest search term that any list or search box takes (people, cases, care, services, volunteers,
# activities, charity, the HSDS feed): room for a name, an address or a number typed with spaces. A longer one
# only makes the database work — a LIKE pattern, or the pinyin and address arms a name search builds from it —
# and a few of them at once held the database long enough for a 503.
MAX_SEARCH_TERM = 64


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


# A reason for seeing personal data whole (an unmask, an unmasked export, an exact look-up by ID number or phone)
# is read later by whoever audits the log: it must say something.
REASON_MIN_LETTERS = 4
REASON_MIN_DISTINCT = 3
REASON_MAX = 500


def meaningful_reason(value: Any, field: str = "reason", *, limit: int = REASON_MAX) -> str:
    """The reason as it will be recorded, or Invalid naming `field`: one rule for every reason in the product.

    Refused: nothing or only spaces (reason "required"); only punctuation, symbols, digits, invisible or format
    characters (zero-width spaces, direction marks), or one character repeated ("not_a_sentence"); fewer than
    REASON_MIN_LETTERS letters or Chinese characters once the rest is set aside ("too_short", param `min`). What is
    kept is the text as typed, invisible characters dropped and runs of spaces made one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid("give a reason", field=field, reason="required", min=REASON_MIN_LETTERS)
    if not isinstance(value, str):
        raise Invalid(field=field, reason="not_text")
    if "\x00" in value:
        raise Invalid(field=field, reason="nul")
    # Format (Cf: zero-width, direction marks, soft hyphen), control (Cc) and unassigned characters go; separators
    # (Zs, Zl, Zp: the ideographic space and the like) become a plain space.
    kept = []
    for c in value:
        kind = unicodedata.category(c)
        if kind in ("Cf", "Cn", "Co", "Cs") or (kind == "Cc" and c not in "\t\n"):
            continue
        kept.append(" " if kind.startswith("Z") or c in "\t\n" else c)
    text = " ".join("".join(kept).split())
    letters = [c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c).startswith("L")]
    if len(set(letters)) <= 1:
        raise Invalid("give the reason in words, not only dots, symbols or one character repeated", field=field,
                      reason="not_a_sentence", min=REASON_MIN_LETTERS)
    if len(letters) < REASON_MIN_LETTERS:
        raise Invalid(f"give a reason of at least {REASON_MIN_LETTERS} letters or Chinese characters", field=field,
                      reason="too_short", min=REASON_MIN_LETTERS)
    if len(set(letters)) < REASON_MIN_DISTINCT:
        raise Invalid("give the reason in words, not one or two characters repeated", field=field,
                      reason="not_a_sentence", min=REASON_MIN_LETTERS)
    if len(text) > limit:
        raise Invalid(field=field, reason="too_long", limit=limit)
    return text


def search_term(value: str | None, field: str = "q") -> str | None:
    """A search term as typed, stripped; None when blank. Longer than MAX_SEARCH_TERM, or holding a NUL, is
    refused before any query is built (Invalid naming `field`: a 422 for the API, a message on a page)."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_SEARCH_TERM:
        raise Invalid(field=field, reason="too_long", limit=MAX_SEARCH_TERM)
    if "\x00" in text:
        raise Invalid(field=field, reason="nul")
    return text
