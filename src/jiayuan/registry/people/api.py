"""JSON routes of people (人): register, list, search, tag, move; unmask, export and anonymize, each audited."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, client_ip
from jiayuan.kit.errors import Invalid
from jiayuan.kit.pagination import Offset, search_query
from jiayuan.registry.models import Person, PersonMove, PersonTag
from jiayuan.registry.people import service as people
from jiayuan.registry.people.schemas import (
    AnonymizeRequest,
    HouseholdRead,
    MoveCreate,
    MoveRead,
    PersonCreate,
    PersonDetail,
    PersonExportRead,
    PersonList,
    PersonRead,
    PersonUpdate,
    SearchRequest,
    TagCreate,
    TagRead,
    UnmaskRead,
    UnmaskRequest,
)
from jiayuan.registry.policy import Administrator, Registrar

# Registry staff only (grid workers, community, street and district staff), as on the pages: the hotline, departments,
# providers and volunteers have district- or unit-wide scopes, but the register of people is not theirs to read.
router = APIRouter(prefix="/api/v1/registry/people", tags=["registry"])


def _tag(t: PersonTag) -> TagRead:
    return TagRead(id=t.id, tag=t.tag, grade=t.grade, starts_on=t.starts_on, ends_on=t.ends_on, note=t.note)


def _move(m: PersonMove) -> MoveRead:
    return MoveRead(id=m.id, moved_at=m.moved_at, from_grid=m.from_grid, to_grid=m.to_grid,
                    from_room_id=m.from_room_id, to_room_id=m.to_room_id, note=m.note)


def _fields(p: Person, tags: list[PersonTag]) -> dict:
    # Masked here, in the one place every read shape is built: no route can forget it.
    return dict(id=p.id, grid_code=p.grid_code, name=p.name, name_initials=p.name_initials, **people.masked(p),
                **people.facts(p), residence_type=p.residence_type,
                floating_expires_on=p.floating_expires_on, household_id=p.household_id, relation=p.relation,
                room_id=p.room_id, anonymized_at=p.anonymized_at, tags=people.current_tags(p, tags))


def _reads(session: DbSession, found: list[Person]) -> list[PersonRead]:
    tags = people.tags_of(session, found)
    return [PersonRead(**_fields(p, tags[p.id])) for p in found]


def _detail(session: DbSession, principal: Principal, p: Person) -> PersonDetail:
    tags = people.tags_of(session, [p])[p.id]
    return PersonDetail(**_fields(p, tags), notes=p.notes, tag_history=[_tag(t) for t in tags],
                        moves=[_move(m) for m in people.moves_of(session, principal, p.id)])


@router.post("", response_model=PersonDetail, status_code=201)
def create_person(body: PersonCreate, principal: Registrar, session: DbSession) -> PersonDetail:
    return _detail(session, principal, people.create_person(session, principal, body.model_dump()))


@router.get("", response_model=PersonList)
def list_people(principal: Registrar, session: DbSession,
                grid: Annotated[str | None, Query(description="a unit code: people in it and below")] = None,
                tag: str | None = None, residence_type: str | None = None,
                q: Annotated[str | None, search_query("name or pinyin initials only; ID numbers and phones "
                                                      "go to POST /search")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Offset = 0) -> PersonList:
    """People in the caller's scope, masked."""
    if q and people.looks_personal(q):
        # URLs end up in histories and proxies: refuse rather than search, so that clients learn the rule.
        raise Invalid("search ID numbers and phones with POST /api/v1/registry/people/search", field="q")
    found = people.list_people(session, principal, grid=grid, tag=tag, residence_type=residence_type, q=q,
                               limit=limit, offset=offset)
    return PersonList(items=_reads(session, found), limit=limit, offset=offset)


@router.post("/search", response_model=list[PersonRead],
             responses={429: {"description": "too many exact look-ups that found no one: locked for "
                                             "details.retry_after seconds"}})
def search(body: SearchRequest, principal: Registrar, session: DbSession, request: Request) -> list[PersonRead]:
    """By ID number or phone (exact, with a `reason`: an audited look-up, counted when it finds no one), name or
    pinyin initials, within the caller's scope."""
    return _reads(session, people.search(session, principal, body.q, body.limit, reason=body.reason,
                                         ip=client_ip(request)))


@router.get("/{person_id}", response_model=PersonDetail)
def get_person(person_id: uuid.UUID, principal: Registrar, session: DbSession) -> PersonDetail:
    return _detail(session, principal, people.get_person(session, principal, person_id))


@router.patch("/{person_id}", response_model=PersonDetail)
def update_person(person_id: uuid.UUID, body: PersonUpdate, principal: Registrar,
                  session: DbSession) -> PersonDetail:
    person = people.update_person(session, principal, person_id, body.model_dump(exclude_unset=True))
    return _detail(session, principal, person)


@router.post("/{person_id}/tags", response_model=TagRead, status_code=201)
def add_tag(person_id: uuid.UUID, body: TagCreate, principal: Registrar, session: DbSession) -> TagRead:
    return _tag(people.add_tag(session, principal, person_id, body.tag, body.starts_on, body.ends_on, body.grade,
                               body.note))


@router.post("/{person_id}/tags/{tag_id}/end", response_model=TagRead)
def end_tag(person_id: uuid.UUID, tag_id: uuid.UUID, principal: Registrar, session: DbSession,
            ends_on: date | None = None) -> TagRead:
    return _tag(people.end_tag(session, principal, person_id, tag_id, ends_on))


@router.post("/{person_id}/move", response_model=MoveRead, status_code=201)
def move_person(person_id: uuid.UUID, body: MoveCreate, principal: Registrar, session: DbSession) -> MoveRead:
    return _move(people.move_person(session, principal, person_id, body.to_grid, body.to_room_id, body.note))


@router.post("/{person_id}/unmask", response_model=UnmaskRead, response_model_exclude_unset=True)
def unmask(person_id: uuid.UUID, body: UnmaskRequest, principal: Registrar, session: DbSession) -> UnmaskRead:
    """The plain ID number and/or phone, for a reason; the view is audited before the values are returned."""
    return UnmaskRead(**people.unmask(session, principal, person_id, body.reason or "", body.fields))


@router.get("/{person_id}/export", response_model=PersonExportRead)
def export_person(person_id: uuid.UUID, principal: Administrator, session: DbSession) -> PersonExportRead:
    """Everything held about the person, unmasked (district admin; audited as person_exported)."""
    found = people.export_person(session, principal, person_id)
    p, h = found.person, found.household
    return PersonExportRead(
        id=p.id, district_code=p.district_code, grid_code=p.grid_code, name=p.name, name_initials=p.name_initials,
        id_number=p.id_number, phone=p.phone, birth_date=p.birth_date, sex=p.sex, residence_type=p.residence_type,
        floating_expires_on=p.floating_expires_on, relation=p.relation, room_id=p.room_id, notes=p.notes,
        created_at=p.created_at, updated_at=p.updated_at, anonymized_at=p.anonymized_at,
        household=HouseholdRead(id=h.id, grid_code=h.grid_code, number=h.number, room_id=h.room_id,
                                head_id=h.head_id) if h else None,
        tags=[_tag(t) for t in found.tags], moves=[_move(m) for m in found.moves])


@router.post("/{person_id}/anonymize", response_model=PersonDetail)
def anonymize_person(person_id: uuid.UUID, body: AnonymizeRequest, principal: Administrator,
                     session: DbSession) -> PersonDetail:
    person = people.anonymize_person(session, principal, person_id, body.reason or "")
    return _detail(session, principal, person)
