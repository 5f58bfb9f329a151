"""The grid profile page (网格画像, /registry): a unit's counts with links down to the lists behind them, its child
units and a map of its facilities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import SUPERVISORS, Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.metrics.service import MAX_DATE, MIN_DATE, presets
from jiayuan.deps import DbSession, ReadSession
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.i18n import fmt_date
from jiayuan.page_kit import query
from jiayuan.registry import service as registry
from jiayuan.registry.present import page_context
from jiayuan.stats import care as care_stats
from jiayuan.stats import check_period, default_period, grid_profile
from jiayuan.stats.care import (
    ACTIVITY_KINDS,
    CARE_CENTRE_KINDS,
    CARE_LEVELS,
    CARE_TAGS,
    TEAMS,
    VISIT_KINDS,
)
from jiayuan.stats.policy import Registrar, Staff
from jiayuan.units import service as units
from jiayuan.units.options import unit_code, unit_names
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
MAP_POINTS = 1000


def default_unit(principal: Principal) -> str:
    """A grid worker's own grid; anyone else's unit."""
    if principal.role == Role.grid_worker and principal.grids:
        return principal.grids[0]
    return principal.scope_code or ""


def cases_link(principal: Principal, code: str) -> str:
    """The case list behind the open-case count: the dispatchers' queue for the unit, or a worker's to-do."""
    if principal.role in SUPERVISORS:  # the roles that dispatch cases
        return "/workbench?" + query(tab="all", status="open", unit=code)
    return "/workbench"


def map_data(session: Session, principal: Principal, code: str, children: list[Any]) -> dict[str, Any]:
    """The unit's outline, its child units' outlines, and its facilities that have a place, as map points."""
    chain = units.chain_of(session, code)
    found, total = registry.list_things(session, principal, grid=code, limit=MAP_POINTS)
    points = [{"lat": t.lat, "lon": t.lon, "kind": t.kind, "status": t.status, "name": t.name or t.code or "",
               "id": str(t.id)} for t in found if t.lat is not None and t.lon is not None]
    return {"unit": chain[-1].geometry if chain else None,
            "children": [{"code": c.code, "name": c.name, "geometry": c.geometry}
                         for c in children if c.geometry],
            "points": points, "capped": total > len(found)}


@router.get("/registry")
def profile_page(request: Request, principal: Registrar, session: DbSession, unit: str | None = None) -> Response:
    code = unit_code(unit) if unit else default_unit(principal)
    if not code:
        raise NotFound("no such unit", field="unit")
    figures = grid_profile.profile(session, principal, code)
    chain = units.chain_of(session, code)
    children = units.list_units(session, principal.scope, parent_code=code)
    per_child = grid_profile.people_by_child(session, principal, code)
    own_grids = []
    if principal.role == Role.grid_worker and len(principal.grids) > 1:
        names = unit_names(session, principal)
        own_grids = [{"code": g, "name": names.get(g, g)} for g in principal.grids]
    return render(request, "stats/grid_profile.html", {
        **page_context(request), "unit": chain[-1], "chain": chain, "figures": figures,
        "children": [{"code": c.code, "name": c.name, "level": c.level, "people": per_child.get(c.code, 0)}
                     for c in children],
        "covers": principal.scope.covers, "own_grids": own_grids, "cases_link": cases_link(principal, code),
        "map": map_data(session, principal, code, children), "query": query})


# --- The care figures page ----------------------------------------------------------------------------------


# The lists behind the figures: one place for every URL, so that the page and the lists cannot drift apart. They
# are the care, volunteers, charity and activities domains' own lists; where one has no filter for the unit or
# the period yet, the link goes to the closest list (docs/care.md, "Figures", says which).


def links(unit: str, start: date, end: date, markets: dict[str, Any]) -> dict[str, str]:
    """The URL of the list behind each figure of `unit` in [start, end); `markets` maps a community to the id of
    its charity supermarket."""
    period = {"start": start.isoformat(), "end": end.isoformat()}
    last = (end - timedelta(days=1)).isoformat()

    def url(path: str, **params: Any) -> str:
        given = {k: v for k, v in params.items() if v is not None}
        return f"{path}?{urlencode(given)}" if given else path

    market = markets.get(unit[:12]) if len(unit) >= 12 else None
    # A community's supermarket (a grid's: its community's): its donations and its report of the period, which
    # reconciles the stock and the points. Above a community: the list of the supermarkets.
    donations = f"/charity/{market}/donations" if market else "/charity"
    report = url(f"/charity/{market}/report", start=period["start"], end=last) if market else "/charity"
    out = {
        "care.people": url("/care", unit=unit),
        "care.started": url("/care", unit=unit),
        "visits.visits": url("/care", unit=unit),  # no list of visits yet: the people, each with their visits
        "visits.confirmed": url("/care", unit=unit),
        "alerts.open": url("/care/alerts", unit=unit),
        "alerts.raised": url("/care/alerts", unit=unit),
        "volunteers.active": url("/volunteers", unit=unit),
        "volunteers.minutes": url("/volunteers", unit=unit),
        "donations.count": donations, "donations.goods": donations, "donations.money": donations,
        "points.issued": report, "points.converted": report, "points.spent": report, "points.expired": report,
        "points.redemptions": report,
        "activities.held": url("/activities/manage", past="true"),
        "activities.participants": url("/activities/manage", past="true"),
        "centres.centres": "/care/centres",
        "centres.enrolled": "/care/centres",
        "centres.people_served": url("/care/centres/figures", unit=unit, start=period["start"], end=last),
    }
    for level in CARE_LEVELS:
        out[f"care.level.{level}"] = url("/care", unit=unit, level=level)
    for tag in CARE_TAGS:
        out[f"care.tag.{tag}"] = url("/care", unit=unit, tag=tag)
    for kind in VISIT_KINDS:
        out[f"visits.kind.{kind}"] = url("/care", unit=unit)
    for team in TEAMS:
        out[f"volunteers.team.{team}"] = url("/volunteers", unit=unit, team=team)
    for kind in ACTIVITY_KINDS:
        out[f"activities.kind.{kind}"] = url("/activities", past="true", kind=kind)
    return out


# The page.


def labels(_: Callable[[str], str]) -> dict[str, str]:
    """Every figure's name in the reader's language (the msgids written out for the catalogue)."""
    return {
        "care.people": _("People in care"), "care.started": _("Taken into care in the period"),
        "visits.visits": _("Visits"), "visits.confirmed": _("Confirmed visits"),
        "visits.confirmed_share": _("Confirmed share"), "visits.minutes": _("Minutes of visits"),
        "alerts.open": _("Not visited in time, now"), "alerts.raised": _("Not-visited alerts raised"),
        "volunteers.active": _("Active volunteers"), "volunteers.hours": _("Volunteer hours credited"),
        "donations.count": _("Donations"), "donations.goods": _("Donations in kind"),
        "donations.goods_value": _("Value of goods donated (yuan)"), "donations.money": _("Donations of money"),
        "donations.money_yuan": _("Money donated (yuan)"),
        "points.issued": _("Points issued"), "points.converted": _("Points converted from hours"),
        "points.spent": _("Points spent"), "points.expired": _("Points expired"),
        "points.redemptions": _("Redemptions"),
        "activities.held": _("Activities held"), "activities.participants": _("Participants"),
        "centres.centres": _("Care centres"), "centres.enrolled": _("Enrolled at care centres"),
        "centres.people_served": _("People served at care centres"),
        "centres.attendance_days": _("Attendance days"), "centres.meals": _("Meals served"),
    }


def kind_labels(_: Callable[[str], str]) -> dict[str, dict[str, str]]:
    return {
        "level": {"low": _("Low level of care"), "medium": _("Medium level of care"),
                  "high": _("High level of care")},
        "tag": {"living_alone": _("Living alone"), "empty_nest": _("Empty nest"), "disabled": _("Disabled"),
                "allowance": _("Minimum living allowance"), "aged_80": _("Aged 80+")},
        "visit": {"housekeeping": _("Housekeeping visits"), "meals": _("Meal visits"),
                  "health": _("Health-care visits"), "companionship": _("Companionship visits"),
                  "other": _("Other visits")},
        "team": {"red": _("Red team"), "orange": _("Orange team"), "yellow": _("Yellow team"),
                 "green": _("Green team"), "cyan": _("Cyan team"), "blue": _("Blue team"),
                 "purple": _("Purple team"), "none": _("Without a team")},
        "activity": {"culture": _("Culture activities"), "sports": _("Sports activities"),
                     "festival": _("Festival shows"), "lecture": _("Lectures"),
                     "volunteer": _("Volunteer events"), "other": _("Other activities")},
        "centre": {"home_care": _("Home-care centres"), "day_care": _("Day-care centres")},
    }


def level_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {"district": _("District"), "street": _("Street"), "community": _("Community"), "grid": _("Grid")}


def _period_text(locale: str, _: Callable[[str], str], start: date, end: date) -> str:
    last = end - timedelta(days=1)
    if last == start:
        return fmt_date(start, locale)  # type: ignore[arg-type]
    return _("%(start)s to %(end)s") % {"start": fmt_date(start, locale),  # type: ignore[arg-type]
                                        "end": fmt_date(last, locale)}  # type: ignore[arg-type]


def _page_period(_: Callable[[str], str], start: str | None, end: str | None, to: str | None,
                 today: date) -> tuple[date, date, str | None]:
    """The period a page asks for; on bad input this month, with the reason in the reader's language."""
    this_month = default_period(None, None, today)
    try:
        s = date.fromisoformat(start) if start else None
        e = date.fromisoformat(end) if end else (date.fromisoformat(to) + timedelta(days=1) if to else None)
    except (ValueError, OverflowError):
        return (*this_month, _("Enter dates as YYYY-MM-DD."))
    try:
        s, e = default_period(s, e, today)
        check_period(s, e)
    except Invalid:
        # Which rule the period broke, from the dates themselves (never from the error's English text).
        if any(d is not None and not MIN_DATE <= d <= MAX_DATE for d in (s, e)):
            return (*this_month, _("Dates must lie between 1900 and 2200."))
        if s is not None and e is not None and e <= s:
            return (*this_month, _("The last day must not be before the first day."))
        return (*this_month, _("The period may be at most two years."))
    return s, e, None


@router.get("/care/figures", include_in_schema=False)
def figures_page(request: Request, principal: Staff, session: ReadSession, unit: str | None = None,
                 start: str | None = None, end: str | None = None, to: str | None = None) -> Response:
    _ = gettext_for(request)
    locale = request_locale(request)
    today = local_today()
    s, e, error = _page_period(_, start, end, to, today)
    report = care_stats.figures(session, principal, unit or None, s, e)
    tgt = report.target
    markets = care_stats.supermarkets_under(session, tgt)
    names = kind_labels(_)
    # The way up, from the caller's own unit (or the highest one they may see) to this one.
    chain = [(u.code, u.name) for u in units.chain_of(session, tgt.code)
             if principal.scope.covers(u.code) or principal.scope.is_within(u.code)]
    top = len(principal.scope_code or "")
    chain = [(c, n) for c, n in chain if len(c) >= min(top, len(tgt.code))] or [(tgt.code, tgt.name)]
    query = {"start": s.isoformat(), "end": e.isoformat()}
    rows = [*report.children, *([report.here] if report.here else [])]
    t = report.totals
    chart = {
        "names": names,
        "level": [{"key": k, "name": names["level"][k], "value": t["care"]["by_level"][k]} for k in CARE_LEVELS],
        "tag": [{"key": k, "name": names["tag"][k], "value": t["care"]["by_tag"][k]} for k in CARE_TAGS],
        "visit": [{"key": k, "name": names["visit"][k], "visits": t["visits"]["by_kind"][k]["visits"],
                   "confirmed": t["visits"]["by_kind"][k]["confirmed"]} for k in VISIT_KINDS],
        "points": [{"key": k, "name": labels(_)[f"points.{k}"], "value": t["points"][k]}
                   for k in ("issued", "converted", "spent", "expired")],
        "children": {"names": [r["name"] for r in report.children],
                     "people": [r["care"]["people"] for r in report.children],
                     "visits": [r["visits"]["visits"] for r in report.children],
                     "open": [r["alerts"]["open"] for r in report.children]},
        "series": {"people": _("People in care"), "visits": _("Visits"), "confirmed": _("Confirmed visits"),
                   "open": _("Not visited in time, now")},
    }
    context = {
        "report": report, "totals": t, "rows": rows, "labels": labels(_), "kinds": names,
        "levels": level_labels(_), "links": links(tgt.code, s, e, markets),
        "child_links": {r["code"]: links(r["code"], s, e, markets) for r in report.children},
        "child_level": level_labels(_).get({6: "street", 9: "community", 12: "grid"}.get(len(tgt.code), ""), ""),
        "chain": chain, "start": s, "end": e, "to": e - timedelta(days=1), "query": query,
        "period_text": _period_text(locale, _, s, e), "presets": presets(_, today),
        "as_of_text": fmt_date(report.as_of, locale),  # type: ignore[arg-type]
        "error": error, "chart": chart, "care_levels": CARE_LEVELS, "care_tags": CARE_TAGS,
        "visit_kinds": VISIT_KINDS, "activity_kinds": ACTIVITY_KINDS, "teams": TEAMS,
        "centre_kinds": CARE_CENTRE_KINDS,
    }
    return render(request, "stats/care_figures.html", context, status_code=422 if error else 200)
