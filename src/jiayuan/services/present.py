"""How the services domain shows things on its pages: money in yuan and 万元, shares, day labels, weekday names
and week summaries, the units a record may belong to, and the context every page of the domain uses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from fastapi import Request
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit import hours as weekly
from jiayuan.kit import i18n
from jiayuan.page_kit import N_, Message, take_flash
from jiayuan.units import service as units
from jiayuan.web import gettext_for, request_locale


def yuan(fen: int | None) -> str:
    """¥100,000.00 — exact, from fen."""
    if fen is None:
        return ""
    return f"¥{Decimal(fen) / 100:,.2f}"


def wan_yuan(fen: int | None, locale: str) -> str:
    """10万元 (12.5万元) as Chinese readers say large sums; "100,000 yuan" in English."""
    if fen is None:
        return ""
    amount = Decimal(fen) / 100
    if locale != "zh_CN":
        return f"{amount:,.2f}".removesuffix(".00") + " yuan"
    if abs(amount) >= 10000:
        wan = (amount / 10000).quantize(Decimal("0.01")).normalize()
        return f"{wan:,f}万元"
    return f"{amount:,.2f}".removesuffix(".00") + "元"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}".removesuffix(".0") + "%"


def day_label(day: date, locale: str) -> str:
    """12月1日 星期二 / Tuesday, 1 December."""
    return format_date(day, "M月d日 EEEE" if locale == "zh_CN" else "EEEE, d MMMM", locale=locale)


def weekday_names(_: Any) -> dict[str, str]:
    return {"1": _("Monday"), "2": _("Tuesday"), "3": _("Wednesday"), "4": _("Thursday"), "5": _("Friday"),
            "6": _("Saturday"), "7": _("Sunday")}


def short_weekdays(_: Any) -> dict[str, str]:
    return {"1": _("Mon"), "2": _("Tue"), "3": _("Wed"), "4": _("Thu"), "5": _("Fri"), "6": _("Sat"),
            "7": _("Sun")}


def week_summary(week: dict[str, Any] | None, _: Any) -> list[str]:
    """"Mon–Fri 08:30–12:00, 14:00–17:30", consecutive days with the same hours written once."""
    names, out, days = short_weekdays(_), [], weekly.WEEKDAYS
    i = 0
    while i < len(days):
        spans = (week or {}).get(days[i]) or []
        j = i
        while j + 1 < len(days) and ((week or {}).get(days[j + 1]) or []) == spans:
            j += 1
        if spans:
            who = names[days[i]] if i == j else _("%(first)s to %(last)s") % {"first": names[days[i]],
                                                                               "last": names[days[j]]}
            out.append(f"{who} {weekly.format_intervals(spans)}")
        i = j + 1
    return out


def base_context(request: Request) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"flash": take_flash(request), "yuan": yuan, "wan": lambda f: wan_yuan(f, locale),
            "percent": percent, "fmt_day": lambda d: day_label(d, locale),
            "fmt_date": lambda d: i18n.fmt_date(d, locale), "intervals": weekly.format_intervals,
            "week_summary": lambda w: week_summary(w, _), "weekdays": weekday_names(_),
            "WEEKDAYS": weekly.WEEKDAYS}


def unit_choices(session: Session, principal: Principal, lengths: tuple[int, ...]) -> list[dict[str, Any]]:
    """Units of the caller's scope a record can belong to, indented by level."""
    return [{"code": u.code, "name": u.name, "depth": (len(u.code) - 9) // 3}
            for u in units.list_units(session, principal.scope) if len(u.code) in lengths]


# Messages of the domain's forms, keyed by (field, reason) for jiayuan.page_kit.explain.


def by_field(known: Mapping[str, Message], first: Mapping[str, Message]) -> dict[tuple[str, str], Message]:
    """A field's own message for any reason, except the reasons in `first`, which read alike on every field
    (a record out of sight, a conflict): those stay before the field's own words."""
    table: dict[tuple[str, str], Message] = {("*", reason): message for reason, message in first.items()}
    for field, message in known.items():
        table[(field, "*")] = message
        for reason, first_message in first.items():
            table.setdefault((field, reason), first_message)
    return table


def hours_messages(*fields: str) -> dict[tuple[str, str], Message]:
    """A day's hours typed as "08:30-12:00, 14:00-17:30" (kit.hours names the reason)."""
    table: dict[tuple[str, str], Message] = {}
    for field in fields:
        table.update({
            (field, "not_hhmm"): N_("Write times as HH:MM, from 00:00 to 23:59."),
            (field, "end_before_start"): N_("Each interval must start before it ends."),
            (field, "overlaps"): N_("Two intervals of the day overlap."),
            (field, "hours_needed"): N_("Give the day's hours, or mark it closed."),
            (field, "closed_with_hours"): N_("A closed day has no hours."),
            (field, "*"): N_("Write each interval as 08:30-12:00, separated by commas."),
        })
    return table


DAY_FIELDS = tuple(f"hours_{d}" for d in weekly.WEEKDAYS)
