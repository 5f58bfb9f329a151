"""Pages of the charity supermarket (爱心慈善超市): the list of supermarkets, the counter (find a household, see
its points, pick items, redeem, the receipt), donations, stock with its ledger, the stock-take, points (the
monthly issue and conversion of volunteer hours), the reconciliation report, the district's items and rules, and a
resident's own balance by the points card on a receipt.

ID numbers are searched by POST only; everything that writes carries the session's CSRF token and comes back as a
redirect (so a reload sends nothing twice), or as the same page with the reason by the field."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from itertools import groupby
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.charity import points, policy, redeem, reports, service, stock
from jiayuan.charity.models import Supermarket
from jiayuan.deps import CurrentPrincipal, DbSession, verify_csrf
from jiayuan.kit import i18n
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Conflict, DomainError, Invalid, NotFound
from jiayuan.kit.excel import XLSX_TYPE
from jiayuan.kit.text import search_term
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    explain,
    field_int,
    field_text,
    field_yuan,
    flash,
    path_id,
    query_date,
    query_id,
    register_messages,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.registry.models import TAGS
from jiayuan.registry.service import households as registry_households
from jiayuan.units import service as units
from jiayuan.volunteers import policy as volunteer_policy
from jiayuan.volunteers import service as volunteers
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
CSRF = [Depends(verify_csrf)]
CARD_SESSION_KEY = "charity_card"
LEDGER_PAGE = 50


# --- Labels and messages ----------------------------------------------------------------------------------


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "stock": {"donation": _("Donation"), "purchase": _("Purchase"), "redemption": _("Redemption"),
                  "adjustment": _("Stock-take adjustment")},
        "points": {"issue": _("Monthly issue"), "spend": _("Redemption"), "expire": _("Expired"),
                   "conversion": _("Volunteer hours"), "adjustment": _("Adjustment")},
        "tag": {"aged_60": _("Aged 60+"), "aged_80": _("Aged 80+"), "living_alone": _("Living alone"),
                "empty_nest": _("Empty nest"), "disabled": _("Disabled"),
                "allowance": _("Minimum living allowance"), "left_behind_child": _("Left-behind child"),
                "entitled": _("Entitled group"), "attention": _("Under attention")},
        "donation": {"goods": _("Goods"), "money": _("Money")},
    }


def _refusal(exc: DomainError, _: Callable[[str], str]) -> str:
    """A refused redemption names the items short of stock, or the points."""
    details = exc.details if isinstance(exc.details, dict) else {}
    parts = [_("Not enough %(name)s: %(on_hand)s %(unit)s in stock, %(asked)s asked.") % s
             for s in details.get("items", [])]
    if "points" in details:
        parts.append(_("Not enough points: the balance is %(balance)s, %(needed)s needed.") % details["points"])
    return " ".join(parts)


def _whole_hours(exc: DomainError, _: Callable[[str], str]) -> str:
    details = exc.details if isinstance(exc.details, dict) else {}
    return _("The volunteer has only %(n)s whole hours.") % {"n": (details.get("balance_minutes") or 0) // 60}


MESSAGES: Messages = register_messages({
    ("items", "not_enough"): _refusal,
    ("points", "not_enough"): _refusal,
    ("minutes", "over_balance"): _whole_hours,
    ("hours", "monthly_cap"): N_("By the district rule at most %(cap)s hours a month are converted into points: "
                                 "%(converted)s converted this month, %(left)s left."),
    ("unit_code", "supermarket_exists"): N_("This community has a charity supermarket already."),
    ("unit_code", "not_a_community"): N_("Choose a community."),
    ("unit_code", "outside_scope"): N_("Choose a community within your area."),
    ("name", "item_exists"): N_("An item with this name and unit exists already."),
    ("idempotency_key", "idempotency_key_reused"): N_("This form was sent already."),
    ("month", "month_not_begun"): N_("This month has not begun."),
    ("supermarket_id", "closed"): N_("This supermarket is closed."),
    ("volunteer_id", "no_household"): N_("The volunteer belongs to no household in the registry."),
    ("volunteer_id", "no_supermarket"): N_("The volunteer's community has no charity supermarket open."),
    ("lines", "none_chosen"): N_("Choose at least one item."),
    ("lines", "none_counted"): N_("Count at least one item."),
    ("q", "*"): N_("Type a name or a household number."),
    ("*", "not_found"): N_("Not found, or outside your scope"),
}, "/charity")


def message(request: Request, exc: DomainError) -> str:
    """What went wrong, in the reader's language (by the error's field and reason)."""
    return explain(request, exc, MESSAGES)[1]


def base(request: Request, principal: Principal, supermarket: Supermarket | None, section: str) -> dict[str, Any]:
    """What every charity page uses."""
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"L": labels(_), "section": section, "supermarket": supermarket,
            "is_manager": policy.is_manager(principal),
            "is_admin": policy.is_district_editor(principal),
            "fmt_date": lambda v: i18n.fmt_date(v, locale), "flash": take_flash(request),
            "yuan": lambda fen: f"{fen / 100:,.2f}"}


# --- Supermarkets ---------------------------------------------------------------------------------------


def _communities_without(session: Session, principal: Principal, have: list[Supermarket]) -> list[dict[str, str]]:
    """Communities in the caller's scope that have no supermarket yet."""
    taken = {s.unit_code for s in have}
    return [{"code": u.code, "name": u.name} for u in units.list_units(session, principal.scope, level="community")
            if u.code not in taken]


@router.get("/charity")
def supermarkets_page(request: Request, principal: CurrentPrincipal, session: DbSession,
                      errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                      status_code: int = 200) -> Response:
    if principal.role == Role.resident:
        return see_other("/charity/mine")
    policy.require_role(principal, policy.DESK)
    found = service.list_supermarkets(session, principal)
    if len(found) == 1 and principal.role == Role.volunteer:
        return see_other(f"/charity/{found[0].id}/counter")
    names = {u.code: u.name for u in units.list_units(session, principal.scope, level="community")} \
        if found else {}
    return render(request, "charity/supermarkets.html", {
        **base(request, principal, None, "list"), "supermarkets": found, "names": names,
        "communities": _communities_without(session, principal, found) if policy.is_manager(principal)
        else [], "errors": errors or {}, "values": values or {}}, status_code=status_code)


@router.post("/charity/supermarkets", dependencies=CSRF)
def create_supermarket(request: Request, principal: CurrentPrincipal, session: DbSession,
                       form: PostedForm) -> Response:
    values = {k: field_text(form, k, 200) for k in ("unit_code", "name", "address")}
    try:
        with session.begin_nested():
            created = service.create_supermarket(session, principal, **values)
    except DomainError as exc:
        return supermarkets_page(request, principal, session, errors={exc.field or "form": message(request, exc)},
                                 values=values, status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("The supermarket is open."))
    return see_other(f"/charity/{created.id}/counter")


def _supermarket(session: Session, principal: Principal, sid: str, *, desk: bool = True) -> Supermarket:
    return service.get_supermarket(session, principal, path_id(sid), desk=desk)


# --- The counter ----------------------------------------------------------------------------------------


def _counter(request: Request, session: Session, principal: Principal, supermarket: Supermarket, *,
             q: str = "", results: list[Any] | None = None, household_id: uuid.UUID | None = None,
             picked: dict[uuid.UUID, int] | None = None, errors: dict[str, str] | None = None,
             status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    today = local_today()
    district = supermarket.district_code
    found = None
    if results is not None:
        accounts = points.accounts_of_households(session, district, [c.id for c in results])
        balances = points.spendable(session, district, [a.id for a in accounts.values()], today)
        found = [{"card": c, "balance": balances[accounts[c.id].id] if c.id in accounts else 0} for c in results]
    chosen = None
    if household_id is not None:
        _sm, card, account = points.get_account(session, principal, supermarket.id, household_id)
        lots = points.lots_of(session, account) if account else []
        chosen = {"card": card, "account": account,
                  "balance": sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.valid_on(today)),
                  "lots": [lot for lot in lots if lot.remaining > 0],
                  "recent": redeem.redemptions_of(session, account, limit=5) if account else []}
    levels = [lv for lv in stock.stock_levels(session, principal, supermarket.id) if lv.item.active] if chosen else []
    # By category, as the shelves are (the levels come ordered by category and name).
    groups = [(category, list(group)) for category, group in groupby(levels, key=lambda lv: lv.item.category or "")]
    return render(request, "charity/counter.html", {
        **base(request, principal, supermarket, "counter"), "q": q, "found": found, "chosen": chosen,
        "today": today, "groups": groups, "picked": picked or {}, "errors": errors or {},
        "form_key": uuid.uuid4().hex}, status_code=status_code, headers=headers)


@router.get("/charity/{sid}/counter")
def counter(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession, q: str = "",
            household: str = "") -> Response:
    supermarket = _supermarket(session, principal, sid)
    _ = gettext_for(request)
    try:
        q = search_term(q) or ""
    except Invalid as exc:  # too long: said by the search box
        return _counter(request, session, principal, supermarket, errors={"q": explain(request, exc, MESSAGES)[1]},
                        status_code=422)
    if q and registry_households.looks_personal(q):
        # It is in this address already; it must go no further (not even into the page's own links).
        return _counter(request, session, principal, supermarket, errors={
            "q": _("ID numbers are searched with the form below, so that they never appear in a web address.")},
            status_code=422, headers=NO_STORE)
    results = None
    if q:
        results = registry_households.find_households(session, supermarket.unit_code, q)
    return _counter(request, session, principal, supermarket, q=q, results=results,
                    household_id=query_id(household))


@router.post("/charity/{sid}/counter/search", dependencies=CSRF)
def counter_search(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
                   form: PostedForm) -> Response:
    """By a member's ID number: posted, so that it is in no URL; the answer is not kept by the browser's cache."""
    supermarket = _supermarket(session, principal, sid)
    card = registry_households.look_up_household(session, principal, supermarket.unit_code,
                                                 field_text(form, "id_number", 40), purpose=service.COUNTER_PURPOSE)
    return _counter(request, session, principal, supermarket, results=[card] if card else [], headers=NO_STORE)


def _picked(form: FormData) -> dict[uuid.UUID, int]:
    """item id → quantity from the fields qty_<item id>; blanks and zeros are not picked."""
    picked: dict[uuid.UUID, int] = {}
    for key in form:
        if key.startswith("qty_") and (item_id := query_id(key[4:])) is not None:
            quantity = field_int(form, key, blank=0)
            if quantity:
                picked[item_id] = quantity
    return picked


@router.post("/charity/{sid}/counter/redeem", dependencies=CSRF)
def counter_redeem(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
                   form: PostedForm) -> Response:
    supermarket = _supermarket(session, principal, sid)
    household_id = query_id(field_text(form, "household_id", 40))
    if household_id is None:
        raise NotFound(field="household_id")
    picked: dict[uuid.UUID, int] = {}
    try:
        with session.begin_nested():
            picked = _picked(form)
            redemption, _created = redeem.redeem(
                session, principal, supermarket.id, household_id,
                [{"item_id": i, "quantity": q} for i, q in picked.items()],
                idempotency_key=field_text(form, "idempotency_key", 120) or None)
    except (Invalid, Conflict) as exc:
        return _counter(request, session, principal, supermarket, household_id=household_id, picked=picked,
                        errors={"items": message(request, exc)}, status_code=status_of(exc))
    return see_other(f"/charity/{supermarket.id}/receipts/{redemption.id}")


@router.get("/charity/{sid}/receipts/{rid}")
def receipt(request: Request, sid: str, rid: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The receipt, to print or show: what was given, the points, the balance now, what is left on the shelf,
    and the household's points card."""
    supermarket = _supermarket(session, principal, sid)
    found = redeem.get_receipt(session, principal, supermarket.id, path_id(rid))
    left = stock.on_hand(session, supermarket, [ln.item_id for ln in found.lines])
    return render(request, "charity/receipt.html", {
        **base(request, principal, supermarket, "counter"), "r": found, "card": points.format_card(found.card),
        "left": left}, headers=NO_STORE)


# --- Donations ------------------------------------------------------------------------------------------


def _donations(request: Request, session: Session, principal: Principal, supermarket: Supermarket, *,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    return render(request, "charity/donations.html", {
        **base(request, principal, supermarket, "donations"),
        "items": service.list_items(session, principal, active_only=True),
        "donations": stock.list_donations(session, principal, supermarket.id, limit=50),
        "errors": errors or {}, "values": values or {"kind": "goods"}, "form_key": uuid.uuid4().hex},
        status_code=status_code)


@router.get("/charity/{sid}/donations")
def donations(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    return _donations(request, session, principal, _supermarket(session, principal, sid))


@router.post("/charity/{sid}/donations", dependencies=CSRF)
def donations_post(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
                   form: PostedForm) -> Response:
    supermarket = _supermarket(session, principal, sid)
    values = {k: field_text(form, k, 200) for k in ("kind", "donor_name", "item_id", "quantity", "value", "note")}
    kind = values["kind"] or "goods"
    try:
        with session.begin_nested():
            _donation, created = stock.record_donation(
                session, principal, supermarket.id, kind=kind, donor_name=values["donor_name"],
                item_id=query_id(values["item_id"]) if kind == "goods" else None,
                quantity=field_int(form, "quantity") if kind == "goods" else None,
                value_fen=field_yuan(form, "value", blank=0),
                note=values["note"], idempotency_key=field_text(form, "idempotency_key", 120) or None)
    except DomainError as exc:
        field, said = explain(request, exc, MESSAGES, {"value_fen": "value"})
        return _donations(request, session, principal, supermarket, errors={field: said},
                          values=values, status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("The donation is recorded. Thank you!") if created else _("This donation was recorded already."))
    return see_other(f"/charity/{supermarket.id}/donations")


# --- Stock, ledger, purchases, stock-take ---------------------------------------------------------------


@router.get("/charity/{sid}/stock")
def stock_page(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession, item: str = "",
               page: int = 1, errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    supermarket = _supermarket(session, principal, sid)
    item_id = query_id(item)
    page = max(1, page)
    rows, total = stock.stock_ledger(session, principal, supermarket.id, item_id=item_id, limit=LEDGER_PAGE,
                                     offset=(page - 1) * LEDGER_PAGE)
    return render(request, "charity/stock.html", {
        **base(request, principal, supermarket, "stock"), "levels": stock.stock_levels(session, principal,
                                                                                     supermarket.id),
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // LEDGER_PAGE)), "item": item_id,
        "errors": errors or {}}, status_code=status_code)


@router.post("/charity/{sid}/purchases", dependencies=CSRF)
def purchase(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
             form: PostedForm) -> Response:
    supermarket = _supermarket(session, principal, sid, desk=False)
    try:
        with session.begin_nested():
            stock.record_purchase(session, principal, supermarket.id,
                                  item_id=query_id(field_text(form, "item_id", 40)),
                                  quantity=field_int(form, "quantity"))
    except DomainError as exc:
        return stock_page(request, sid, principal, session, errors={exc.field or "form": message(request, exc)},
                          status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("The purchase is on the shelves."))
    return see_other(f"/charity/{supermarket.id}/stock")


@router.get("/charity/{sid}/stocktake")
def stocktake_page(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
                   errors: dict[str, str] | None = None, counted: dict[str, str] | None = None,
                   status_code: int = 200) -> Response:
    supermarket = _supermarket(session, principal, sid, desk=False)
    return render(request, "charity/stocktake.html", {
        **base(request, principal, supermarket, "stocktake"),
        "levels": stock.stock_levels(session, principal, supermarket.id),
        "takes": stock.list_stocktakes(session, principal, supermarket.id), "errors": errors or {},
        "counted": counted or {}}, status_code=status_code)


@router.post("/charity/{sid}/stocktake", dependencies=CSRF)
def stocktake_post(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
                   form: PostedForm) -> Response:
    supermarket = _supermarket(session, principal, sid, desk=False)
    counted = {k[6:]: field_text(form, k, 20) for k in form if k.startswith("count_")}
    try:
        with session.begin_nested():
            lines = [{"item_id": query_id(k), "counted": field_int(form, f"count_{k}")}
                     for k, v in counted.items() if v]
            _take, rows = stock.take_stock(session, principal, supermarket.id, lines,
                                           note=field_text(form, "note", 2000))
    except DomainError as exc:
        return stocktake_page(request, sid, principal, session, errors={"form": message(request, exc)},
                              counted=counted, status_code=status_of(exc))
    _ = gettext_for(request)
    changed = sum(1 for r in rows if r.counted != r.expected)
    flash(request, _("Stock-take recorded: %(n)s items counted, %(d)s adjusted.") % {"n": len(rows), "d": changed})
    return see_other(f"/charity/{supermarket.id}/stock")


# --- Points: the monthly issue and hours converted --------------------------------------------------------


def _points(request: Request, session: Session, principal: Principal, supermarket: Supermarket, *,
            errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    serving = []
    if volunteer_policy.is_reader(principal):
        found, _total = volunteers.list_volunteers(session, principal, unit=supermarket.unit_code, limit=500)
        names = volunteers.names_of(session, found)
        serving = sorted(({"id": v.id, "name": names.get(v.id, ""),
                           "hours": volunteers.balance_minutes(session, v.district_code, v.id) // 60}
                          for v in found), key=lambda v: v["name"])
    return render(request, "charity/points.html", {
        **base(request, principal, supermarket, "points"), "runs": points.list_runs(session, principal,
                                                                                  supermarket.id),
        "this_month": service.month_start(local_today()), "rules": service.list_rules(session, principal),
        "volunteers": serving, "rate": points.get_settings().points_per_hour, "errors": errors or {},
        "form_key": uuid.uuid4().hex}, status_code=status_code)


@router.get("/charity/{sid}/points")
def points_page(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    return _points(request, session, principal, _supermarket(session, principal, sid))


@router.post("/charity/{sid}/issue", dependencies=CSRF)
def issue(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    supermarket = _supermarket(session, principal, sid, desk=False)
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            run, created = points.issue_by_hand(session, principal, supermarket.id)
    except DomainError as exc:
        return _points(request, session, principal, supermarket, errors={"issue": message(request, exc)},
                       status_code=status_of(exc))
    month = f"{run.month:%Y-%m}"
    flash(request, (_("Points of %(month)s issued: %(p)s points to %(h)s households.") if created else
                    _("Points of %(month)s were issued already: %(p)s points to %(h)s households."))
          % {"month": month, "p": run.points, "h": run.households})
    return see_other(f"/charity/{supermarket.id}/points")


@router.post("/charity/{sid}/convert", dependencies=CSRF)
def convert(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession,
            form: PostedForm) -> Response:
    supermarket = _supermarket(session, principal, sid)
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            volunteer_id = query_id(field_text(form, "volunteer_id", 40))
            if volunteer_id is None:
                raise Invalid(field="volunteer_id", reason="required")
            lot, _created = points.convert_hours(session, principal, volunteer_id, field_int(form, "hours"),
                                                 idempotency_key=field_text(form, "idempotency_key", 120) or None)
    except DomainError as exc:
        return _points(request, session, principal, supermarket, errors={"convert": message(request, exc)},
                       status_code=status_of(exc))
    flash(request, _("%(h)s hours converted into %(p)s points.") % {"h": points.converted_hours(lot),
                                                                     "p": lot.points})
    return see_other(f"/charity/{supermarket.id}/points")


# --- The reconciliation report ----------------------------------------------------------------------------


def _period(start: str, end: str) -> tuple[date, date]:
    today = local_today()
    first = service.month_start(today)
    return query_date(start, first), query_date(end, today)


@router.get("/charity/{sid}/report")
def report_page(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession, start: str = "",
                end: str = "") -> Response:
    supermarket = _supermarket(session, principal, sid)
    begin, finish = _period(start, end)
    errors = {}
    try:
        report = reports.reconcile(session, principal, supermarket.id, begin, finish)
    except Invalid as exc:
        errors["end"] = message(request, exc)
        begin = finish = local_today()
        report = reports.reconcile(session, principal, supermarket.id, begin, finish)
    last = service.month_start(local_today()) - timedelta(days=1)
    return render(request, "charity/report.html", {
        **base(request, principal, supermarket, "report"), "r": report, "errors": errors,
        "query": urlencode({"start": begin.isoformat(), "end": finish.isoformat()}),
        "last_month": urlencode({"start": service.month_start(last).isoformat(), "end": last.isoformat()})},
        status_code=422 if errors else 200)


@router.get("/charity/{sid}/report.xlsx")
def report_xlsx(request: Request, sid: str, principal: CurrentPrincipal, session: DbSession, start: str = "",
                end: str = "") -> Response:
    supermarket = _supermarket(session, principal, sid)
    begin, finish = _period(start, end)
    report = reports.reconcile(session, principal, supermarket.id, begin, finish)
    name = f"慈善超市对账_{supermarket.name}_{begin.isoformat()}_{finish.isoformat()}.xlsx"
    return Response(reports.export_report(report), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=charity-report.xlsx; filename*=UTF-8''{quote(name)}"})


# --- Items and rules (the district's) ---------------------------------------------------------------------


@router.get("/charity/items")
def items_page(request: Request, principal: CurrentPrincipal, session: DbSession,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    policy.require_role(principal, policy.DESK)
    rules = {r.tag: r for r in service.list_rules(session, principal)}
    return render(request, "charity/items.html", {
        **base(request, principal, None, "items"), "items": service.list_items(session, principal),
        "rules": rules, "tags": TAGS, "errors": errors or {}, "values": values or {},
        "supermarkets": service.list_supermarkets(session, principal)}, status_code=status_code)


@router.post("/charity/items", dependencies=CSRF)
def item_create(request: Request, principal: CurrentPrincipal, session: DbSession,
                form: PostedForm) -> Response:
    values = {k: field_text(form, k, 200) for k in ("name", "unit", "points", "category")}
    try:
        with session.begin_nested():
            service.create_item(session, principal, name=values["name"], unit=values["unit"],
                                points=field_int(form, "points"), category=values["category"])
    except DomainError as exc:
        return items_page(request, principal, session, errors={exc.field or "form": message(request, exc)},
                          values=values, status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("The item is added."))
    return see_other("/charity/items")


@router.post("/charity/items/{item_id}", dependencies=CSRF)
def item_update(request: Request, item_id: str, principal: CurrentPrincipal, session: DbSession,
                form: PostedForm) -> Response:
    try:
        with session.begin_nested():
            service.update_item(session, principal, path_id(item_id), {
                "points": field_int(form, "points"), "active": form.get("active") == "on"})
    except DomainError as exc:
        return items_page(request, principal, session, errors={"items": message(request, exc)},
                          status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("Saved."))
    return see_other("/charity/items")


@router.post("/charity/rules", dependencies=CSRF)
def rule_put(request: Request, principal: CurrentPrincipal, session: DbSession,
             form: PostedForm) -> Response:
    try:
        with session.begin_nested():
            service.put_rule(session, principal, tag=field_text(form, "tag", 20), points=field_int(form, "points"),
                             valid_months=field_int(form, "valid_months", blank=3),
                             active=form.get("active") == "on")
    except DomainError as exc:
        return items_page(request, principal, session, errors={"rules": message(request, exc)},
                          status_code=status_of(exc))
    _ = gettext_for(request)
    flash(request, _("The rule is saved; it counts from the next monthly issue."))
    return see_other("/charity/items#rules")


# --- A resident's own household, by the points card -------------------------------------------------------


def _mine(request: Request, session: Session, principal: Principal, card: str, *, error: str | None = None,
          status_code: int = 200) -> Response:
    account = household = None
    lots: list[points.Lot] = []
    today = local_today()
    history, recent = [], []
    if card and error is None:
        account = points.account_by_card(session, card)
        household = registry_households.household_cards(session, account.district_code,
                                                        [account.household_id]).get(account.household_id)
        lots = points.lots_of(session, account)
        history = points.history(session, account, limit=50)
        recent = redeem.redemptions_of(session, account, limit=10)
    balance = sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.valid_on(today))
    return render(request, "charity/mine.html", {
        **base(request, principal, None, "mine"), "account": account, "household": household, "balance": balance,
        "lots": [lot for lot in lots if lot.remaining > 0 and lot.valid_on(today)], "history": history,
        "recent": recent, "error": error}, status_code=status_code, headers=NO_STORE)


@router.get("/charity/mine")
def mine(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The household's balance for whoever holds its card: typed once, kept in the signed session cookie."""
    card = request.session.get(CARD_SESSION_KEY) or ""
    try:
        return _mine(request, session, principal, card)
    except NotFound:
        request.session.pop(CARD_SESSION_KEY, None)
        return _mine(request, session, principal, "")


@router.post("/charity/mine", dependencies=CSRF)
def mine_post(request: Request, principal: CurrentPrincipal, session: DbSession,
              form: PostedForm) -> Response:
    card = field_text(form, "card", 80)
    if form.get("forget"):
        request.session.pop(CARD_SESSION_KEY, None)
        return see_other("/charity/mine")
    try:
        points.account_by_card(session, card)
    except NotFound:
        _ = gettext_for(request)
        return _mine(request, session, principal, "", error=_("No household has this card number; check it "
                                                             "against your receipt."), status_code=404)
    request.session[CARD_SESSION_KEY] = card
    return see_other("/charity/mine")
