"""Languages: Simplified Chinese by default, English second, from gettext catalogues read with Babel."""

from __future__ import annotations

import gettext
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from jiayuan.kit.clock import TIMEZONE

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}


@lru_cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalogue of `locale`, compiled in memory from its .po file (no build step to forget)."""
    po = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def pick_locale(requested: str | None) -> str:
    return requested if requested in LOCALES else DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    return "zh-CN" if locale == "zh_CN" else locale


def fmt_datetime(value: datetime | None, locale: str) -> str:
    if value is None:
        return ""
    # Chinese users read "2026年11月25日 17:03"; the medium format of Babel's zh_CN data is "2026年11月25日 17:03:00".
    return format_datetime(value.astimezone(TIMEZONE), "medium" if locale != "zh_CN" else "yyyy年M月d日 HH:mm",
                           locale=Locale.parse(locale))


def fmt_date(value: datetime | None, locale: str) -> str:
    return format_date(value, "long", locale=Locale.parse(locale)) if value else ""


def fmt_number(value: float | int, locale: str) -> str:
    return format_decimal(value, locale=Locale.parse(locale))
