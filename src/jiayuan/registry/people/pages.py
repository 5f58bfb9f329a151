"""Pages of people (人): the list and its filters, search by ID number or phone (posted, never in a URL),
registering, the person's page with tags, household, moves and edits, and the audited unmask, export and
anonymization. Personal numbers are shown masked everywhere but in the answer to an unmask."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, client_ip, verify_csrf
from jiayuan.kit.errors import Conflict, DomainError, Invalid, NotFound
from jiayuan.kit.text import search_term
from jiayuan.page_kit import (
    PAGE_SIZE,
    PostedForm,
    explain,
    field_date,
    field_text,
    field_uuid,
    flash,
    form_error,
    optional_text,
    pages_of,
    path_id,
    query,
    see_other,
    status_of,
)
from jiayuan.registry.imports import exports
from jiayuan.registry.imports.api import xlsx
from jiayuan.registry.messages import MESSAGES
from jiayuan.registry.models import RESIDENCE_TYPES, TAGS, Person
from jiayuan.registry.people import policy
from jiayuan.registry.people import service as people
from jiayuan.registry.places import houses
from jiayuan.registry.policy import Registrar
from jiayuan.registry.present import page_context, room_label, room_options
from jiayuan.units.options import district_grids, grid_options, unit_code, unit_names, unit_options
from jiayuan.web import gettext_for, render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
HEAD_RELATION = "户主"  # stored as data, as the household register writes it


def rows_of(session: Session, principal: Principal, found: list[Person]) -> list[dict[str, Any]]:
    """People as the lists show them: masked numbers, age, grid, groups in force."""
    today = date.today()
    tags = people.tags_of(session, found)
    return [{"id": p.id, "name": p.name, **people.masked(p), **people.facts(p, today), "grid_code": p.grid_code,
             "residence_type": p.residence_type, "tags": people.current_tags(p, tags[p.id], today)}
            for p in found]


# The list, its filters, and the search by number.


def _people_page(request: Request, session: Session, principal: Principal, *, grid: str = "", tag: str = "",
                 residence_type: str = "", q: str = "", page: str = "1", errors: dict[str, str] | None = None,
                 results: list[Person] | None = None, search_q: str = "", search_reason: str = "",
                 export_reason: str = "", status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    filters = {"grid": grid or None, "tag": tag or None, "residence_type": residence_type or None, "q": q or None}
    total = people.count_people(session, principal, **filters)
    number, pages, offset = pages_of(total, page)
    found = people.list_people(session, principal, **filters, limit=PAGE_SIZE, offset=offset)
    filter_query = query(grid=grid, tag=tag, residence_type=residence_type, q=q)
    return render(request, "registry/people.html", {
        **page_context(request), "rows": rows_of(session, principal, found), "total": total, "page": number,
        "pages": pages, "f": {"grid": grid, "tag": tag, "residence_type": residence_type, "q": q},
        "filter_query": filter_query, "units": unit_options(session, principal),
        "names": unit_names(session, principal), "tags": TAGS, "residence_types": RESIDENCE_TYPES,
        "errors": errors or {}, "results": None if results is None else rows_of(session, principal, results),
        "search_q": search_q, "search_reason": search_reason, "export_reason": export_reason, "may_unmask": policy.may_unmask(principal),
        "min_reason": people.MIN_REASON}, status_code=status_code, headers=headers)


@router.get("/registry/people")
def people_list(request: Request, principal: Registrar, session: DbSession, grid: str | None = None,
                tag: str | None = None, residence_type: str | None = None, q: str | None = None,
                page: str = "1") -> Response:
    _ = gettext_for(request)
    errors = {}
    try:
        q = search_term(q) or ""
    except Invalid as exc:  # too long: said by the search box, and the list shown without it
        errors["q"], q = explain(request, exc, MESSAGES)[1], ""
    if q and people.looks_personal(q):
        # It is in this URL already; it must not travel further into the page's own links.
        errors["q"] = _("ID numbers and phones are searched with the form below, so that they never appear in "
                        "a web address.")
        q = ""
    return _people_page(request, session, principal, grid=unit_code(grid), tag=tag if tag in TAGS else "",
                        residence_type=residence_type if residence_type in RESIDENCE_TYPES else "", q=q,
                        page=page, errors=errors, status_code=422 if errors else 200)


@router.post("/registry/people/search", dependencies=[Depends(verify_csrf)])
def people_search(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    """By ID number or phone (exact), name, pinyin initials or address: posted, so that nothing personal is in
    a URL; the answer is not kept by the browser's cache, and a number typed is not written back."""
    q = field_text(form, "q", 1000)  # the service refuses a term longer than kit.text.MAX_SEARCH_TERM
    reason = field_text(form, "reason", 500)
    try:
        found = people.search(session, principal, q, limit=PAGE_SIZE, reason=reason, ip=client_ip(request))
    except DomainError as exc:
        return _people_page(request, session, principal, errors=form_error(request, exc, "search", MESSAGES),
                            results=[], status_code=status_of(exc), headers=NO_STORE,
                            search_reason=reason)
    return _people_page(request, session, principal, results=found,
                        search_q="" if people.looks_personal(q) else q, search_reason=reason, headers=NO_STORE)


@router.post("/registry/people/export", dependencies=[Depends(verify_csrf)])
def people_export(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    """The filtered list with whole ID numbers, phones and birth dates, for a reason (exports.py); a refused
    reason comes back beside its field, a role that may not unmask gets the refused page (audited)."""
    grid, q = unit_code(field_text(form, "grid", 20)), field_text(form, "q", 60)
    tag, residence_type = field_text(form, "tag", 40), field_text(form, "residence_type", 20)
    reason = field_text(form, "reason", 500)
    filters = {"grid": grid or None, "tag": tag if tag in TAGS else None,
               "residence_type": residence_type if residence_type in RESIDENCE_TYPES else None,
               "q": q if q and not people.looks_personal(q) else None}
    try:
        found = exports.export(session, principal, "people", filters, unmask_reason=reason, ip=client_ip(request))
    except Invalid as exc:
        return _people_page(request, session, principal, grid=filters["grid"] or "", tag=filters["tag"] or "",
                            residence_type=filters["residence_type"] or "", q=filters["q"] or "",
                            errors=form_error(request, exc, "export", MESSAGES), export_reason=reason,
                            status_code=status_of(exc), headers=NO_STORE)
    return xlsx(found.data, f"people-unmasked-{date.today():%Y%m%d}.xlsx")


# Registering a resident.


def _person_fields(form: Any) -> dict[str, Any]:
    return {"name": field_text(form, "name", 100), "grid_code": field_text(form, "grid_code", 20),
            "id_number": field_text(form, "id_number", 40), "phone": field_text(form, "phone", 40),
            "residence_type": field_text(form, "residence_type", 20) or "registered",
            "floating_expires_on": field_text(form, "floating_expires_on", 20),
            "room_id": field_text(form, "room_id", 40), "notes": field_text(form, "notes", 2000)}


def _new_page(request: Request, session: Session, principal: Principal, values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rooms, more = room_options(session, principal)
    grids = grid_options(session, principal)
    values = values or {"grid_code": grids[0]["code"] if len(grids) == 1 else "", "residence_type": "registered"}
    # What was typed comes back after an error, ID number included: not for the browser's cache.
    return render(request, "registry/person_new.html", {
        **page_context(request), "values": values, "errors": errors or {}, "grids": grids, "rooms": rooms,
        "more_rooms": more, "residence_types": RESIDENCE_TYPES}, status_code=status_code, headers=NO_STORE)


@router.get("/registry/people/new")
def person_new(request: Request, principal: Registrar, session: DbSession) -> Response:
    return _new_page(request, session, principal)


@router.post("/registry/people/new", dependencies=[Depends(verify_csrf)])
def person_create(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _person_fields(form)
    try:
        data = {**values, "floating_expires_on": field_date(form, "floating_expires_on"),
                "room_id": field_uuid(form, "room_id"), "notes": optional_text(form, "notes")}
        with session.begin_nested():
            person = people.create_person(session, principal, data)
    except DomainError as exc:
        return _new_page(request, session, principal, values, form_error(request, exc, messages=MESSAGES), status_of(exc))
    flash(request, _("Registered."))
    return see_other(f"/registry/people/{person.id}")


# The person's page.


def person_page(request: Request, session: Session, principal: Principal, person: Person, *,
                error: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                unmasked: dict[str, str | None] | None = None, status_code: int = 200,
                headers: dict[str, str] | None = None) -> Response:
    today = date.today()
    history = people.tags_of(session, [person])[person.id]
    moves = people.moves_of(session, principal, person.id)
    household, members = None, []
    if person.household_id is not None:
        try:
            household = people.get_household(session, principal, person.household_id)
            members = people.members_of(session, principal, household.id)
        except NotFound:
            household = None  # the household stayed in a grid the caller does not see
    addresses = houses.room_addresses(session, principal, [person.room_id, *(m.to_room_id for m in moves),
                                                            *(m.from_room_id for m in moves)])
    everywhere = district_grids(session, principal)
    edit_rooms, _more = room_options(session, principal, grid=person.grid_code)
    move_rooms, more_move_rooms = room_options(session, principal)
    return render(request, "registry/person.html", {
        **page_context(request), "person": person, "masked": people.masked(person), "unmasked": unmasked,
        **{k: v for k, v in people.facts(person, today).items() if k != "sex"},
        "current_tags": people.current_tags(person, history, today), "history": history,
        "addable_tags": [t for t in TAGS if t not in people.DERIVED_TAGS], "today": today,
        "moves": moves, "household": household, "members": members,
        "joinable": [] if household else people.households_in(session, principal, person.grid_code),
        "room": room_label(addresses.get(person.room_id)) if person.room_id else "",
        "room_names": {rid: room_label(a) for rid, a in addresses.items()},
        "grid_names": {g["code"]: g["name"] for g in everywhere} | unit_names(session, principal),
        "move_grids": everywhere, "edit_rooms": edit_rooms, "move_rooms": move_rooms,
        "more_move_rooms": more_move_rooms, "residence_types": RESIDENCE_TYPES,
        "may_unmask": policy.may_unmask(principal), "is_admin": policy.may_administer(principal),
        "error": error or {}, "values": values or {}, "min_reason": people.MIN_REASON,
    }, status_code=status_code, headers=headers)


def _failed(request: Request, session: Session, principal: Principal, person_id: uuid.UUID, form_name: str,
            exc: DomainError, values: dict[str, Any] | None = None) -> Response:
    """The person's page again, as it is now, with the message beside the field of the form that failed."""
    person = people.get_person(session, principal, person_id)
    return person_page(request, session, principal, person, error=form_error(request, exc, form_name, MESSAGES),
                       values={"form": form_name, **(values or {})}, status_code=status_of(exc))


def _done(request: Request, person_id: uuid.UUID, message: str, anchor: str = "") -> Response:
    flash(request, message)
    return see_other(f"/registry/people/{person_id}{anchor}")


@router.get("/registry/people/{person_id}")
def person_view(person_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    return person_page(request, session, principal, people.get_person(session, principal, path_id(person_id)))


@router.post("/registry/people/{person_id}/edit", dependencies=[Depends(verify_csrf)])
def person_edit(person_id: str, request: Request, principal: Registrar, session: DbSession,
                form: PostedForm) -> Response:
    _ = gettext_for(request)
    pid = path_id(person_id)
    values = {k: v for k, v in _person_fields(form).items() if k not in ("id_number", "phone", "grid_code")}
    try:
        changes: dict[str, Any] = {
            "name": values["name"], "residence_type": values["residence_type"],
            "floating_expires_on": field_date(form, "floating_expires_on"),
            "room_id": field_uuid(form, "room_id"), "notes": optional_text(form, "notes")}
        # A blank number field keeps the number on record: the page never holds it to send back.
        for key in ("id_number", "phone"):
            if field_text(form, key, 40):
                changes[key] = field_text(form, key, 40)
        if form.get("clear_phone"):
            changes["phone"] = None
        with session.begin_nested():
            people.update_person(session, principal, pid, changes)
    except DomainError as exc:
        return _failed(request, session, principal, pid, "edit", exc, values)
    return _done(request, pid, _("Saved."))


@router.post("/registry/people/{person_id}/tags", dependencies=[Depends(verify_csrf)])
def tag_add(person_id: str, request: Request, principal: Registrar, session: DbSession,
            form: PostedForm) -> Response:
    _ = gettext_for(request)
    pid = path_id(person_id)
    values = {k: field_text(form, k, 200) for k in ("tag", "grade", "starts_on", "ends_on", "note")}
    try:
        with session.begin_nested():
            people.add_tag(session, principal, pid, values["tag"], field_date(form, "starts_on"),
                           field_date(form, "ends_on"), values["grade"] or None, values["note"] or None)
    except DomainError as exc:
        return _failed(request, session, principal, pid, "tag", exc, values)
    return _done(request, pid, _("Group added."), "#tags")


@router.post("/registry/people/{person_id}/tags/{tag_id}/end", dependencies=[Depends(verify_csrf)])
def tag_end(person_id: str, tag_id: str, request: Request, principal: Registrar, session: DbSession,
            form: PostedForm) -> Response:
    _ = gettext_for(request)
    pid = path_id(person_id)
    try:
        with session.begin_nested():
            people.end_tag(session, principal, pid, path_id(tag_id), field_date(form, "ends_on"))
    except (Invalid, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.field != "tag_id":
            raise
        return _failed(request, session, principal, pid, "tag", exc)
    return _done(request, pid, _("Group ended."), "#tags")


@router.post("/registry/people/{person_id}/household", dependencies=[Depends(verify_csrf)])
def household(person_id: str, request: Request, principal: Registrar, session: DbSession,
              form: PostedForm) -> Response:
    """Start a household with this person as its head, or join one of the grid's households."""
    _ = gettext_for(request)
    pid = path_id(person_id)
    values = {k: field_text(form, k, 40) for k in ("household_id", "relation", "number", "action")}
    try:
        with session.begin_nested():
            person = people.get_person(session, principal, pid)
            if values["action"] == "join":
                target = field_uuid(form, "household_id")
                if target is None:
                    raise Invalid("required", field="household_id", reason="required")
                people.add_member(session, principal, pid, target, values["relation"])
            else:
                made = people.create_household(session, principal, person.grid_code, values["number"] or None,
                                               person.room_id)
                people.add_member(session, principal, pid, made.id, HEAD_RELATION, head=True)
    except DomainError as exc:
        return _failed(request, session, principal, pid, "household", exc, values)
    return _done(request, pid, _("Household saved."), "#household")


@router.post("/registry/people/{person_id}/move", dependencies=[Depends(verify_csrf)])
def move(person_id: str, request: Request, principal: Registrar, session: DbSession,
         form: PostedForm) -> Response:
    _ = gettext_for(request)
    pid = path_id(person_id)
    values = {k: field_text(form, k, 200) for k in ("to_grid", "to_room_id", "note")}
    try:
        room_id = field_uuid(form, "to_room_id")
        to_grid = values["to_grid"]
        if room_id is not None and not to_grid:
            try:
                to_grid = houses.get_room(session, principal, room_id).grid_code  # the room says where
            except NotFound:
                raise Invalid("no such room", field="to_room_id") from None
        if not to_grid:
            raise Invalid("required", field="to_grid", reason="required")
        with session.begin_nested():
            people.move_person(session, principal, pid, to_grid, room_id, values["note"] or None)
    except DomainError as exc:
        return _failed(request, session, principal, pid, "move", exc, values)
    if not principal.scope.covers(to_grid):
        # Out of the caller's sight now: the new grid's worker keeps the record.
        flash(request, _("Moved. The person now belongs to the new grid's register."))
        return see_other("/registry/people")
    return _done(request, pid, _("Moved."), "#moves")


@router.post("/registry/people/{person_id}/unmask", dependencies=[Depends(verify_csrf)])
def unmask(person_id: str, request: Request, principal: Registrar, session: DbSession,
           form: PostedForm) -> Response:
    """The whole ID number and phone, on this response only: for a reason, audited by the service, never in a
    URL, never cached. A role that may not unmask gets the refused page (and the refusal is audited)."""
    pid = path_id(person_id)
    reason = field_text(form, "reason", 500)
    try:
        plain = people.unmask(session, principal, pid, reason)
    except Invalid as exc:
        return _failed(request, session, principal, pid, "unmask", exc, {"reason": reason})
    person = people.get_person(session, principal, pid)
    return person_page(request, session, principal, person, unmasked=plain, headers=NO_STORE)


@router.post("/registry/people/{person_id}/anonymize", dependencies=[Depends(verify_csrf)])
def anonymize(person_id: str, request: Request, principal: Registrar, session: DbSession,
              form: PostedForm) -> Response:
    _ = gettext_for(request)
    pid = path_id(person_id)
    reason = field_text(form, "reason", 500)
    try:
        with session.begin_nested():
            people.anonymize_person(session, principal, pid, reason)
    except (Invalid, Conflict) as exc:
        return _failed(request, session, principal, pid, "anonymize", exc, {"reason": reason})
    return _done(request, pid, _("The person has been anonymized."))
