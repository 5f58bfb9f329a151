"""Use cases of volunteers (七彩义工): profiles, the append-only hours ledger and honours.

Other domains call `credit_hours`, `debit_hours`, `balance_minutes`, `get_volunteer` and `volunteer_of`
(docs/care.md); jiayuan/hooks.py registers `erase_person` (erasure.py) for the registry's anonymisation. Opportunities, sign-ups and check-in are in opportunities.py. Services only flush: the request's
unit of work commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.figures import Figure, Within
from jiayuan.kit.hours import parse_week
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.scope import Scope
from jiayuan.notify.service import queue_message
from jiayuan.registry.service import people
from jiayuan.units import service as units
from jiayuan.volunteers import policy
from jiayuan.volunteers.erasure import account_of_person as account_of_person
from jiayuan.volunteers.erasure import erase_person as erase_person
from jiayuan.volunteers.models import LEDGER_KINDS, Honour, HoursEntry, Volunteer
from jiayuan.volunteers.teams import check_team

HONOUR_HOURS = (100, 300, 600, 1000, 1500)
MAX_SKILLS = 20
MAX_SKILL = 40
MAX_MINUTES = 100_000  # one entry: about ten weeks of round-the-clock service; more is a typing mistake
SOURCE_TYPE_MAX = 20
NOTE_MAX = 200
CERTIFICATE_PREFIX = "ZY"
CERTIFICATE_SEQUENCE_DIGITS = 6
HONOUR_TEXT = "【家园】恭喜您累计志愿服务满 {hours} 小时，获颁荣誉证书（编号 {number}），可在“我的志愿服务”中查看和打印。"


# --- Reading and scope ---------------------------------------------------------------------------


def get_volunteer(session: Session, principal: Principal, volunteer_id: uuid.UUID) -> Volunteer:
    """A volunteer the caller may see (staff in scope, or the volunteer themself); otherwise 404."""
    if not isinstance(volunteer_id, uuid.UUID):
        raise NotFound("no such volunteer", field="volunteer_id")
    found = session.scalar(select(Volunteer).where(Volunteer.id == volunteer_id, policy.visible(principal)))
    if found is None:
        raise NotFound("no such volunteer", field="volunteer_id")
    return found


def volunteer_of(session: Session, principal: Principal, *, required: bool = True) -> Volunteer | None:
    """The caller's own volunteer profile (the one linked to their account). Without one: 404, or None when
    `required` is false."""
    found = session.scalar(select(Volunteer).where(Volunteer.user_id == principal.user_id))
    if found is None and required:
        raise NotFound("your account has no volunteer profile", field="volunteer", reason="no_profile")
    return found


def list_volunteers(session: Session, principal: Principal, *, team: str | None = None, unit: str | None = None,
                    active: bool | None = True, limit: int = 200, offset: int = 0) -> tuple[list[Volunteer], int]:
    policy.require_reader(principal)
    stmt = select(Volunteer).where(policy.visible(principal))
    if team:
        stmt = stmt.where(Volunteer.team_code == check_team_code(team))
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "unit"),)).where(Volunteer))
    if active is not None:
        stmt = stmt.where(Volunteer.active.is_(active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Volunteer.team_code, Volunteer.joined_on, Volunteer.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def select_volunteers(district: str, ids: list[uuid.UUID]) -> Any:
    """Volunteers by id, for callers that have already been allowed to see them (sign-up lists)."""
    return select(Volunteer).where(Volunteer.district_code == district, Volunteer.id.in_(ids))


def check_team_code(code: str) -> str:
    if not isinstance(code, str) or not code.isascii() or not code.isalpha() or len(code) > 12:
        raise Invalid("unknown team", field="team")
    return code


# --- Profiles ------------------------------------------------------------------------------------


def _skills(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [s for s in value.replace("，", ",").replace("、", ",").split(",")]
    if not isinstance(value, (list, tuple)):
        raise Invalid("must be a list of skills", field="skills")
    out: list[str] = []
    for i, skill in enumerate(value):
        if not isinstance(skill, str):
            raise Invalid("must be text", field=f"skills[{i}]")
        skill = skill.strip()
        if not skill:
            continue
        if len(skill) > MAX_SKILL:
            raise Invalid(f"at most {MAX_SKILL} characters", field=f"skills[{i}]")
        if "\x00" in skill:
            raise Invalid("contains a NUL character", field=f"skills[{i}]")
        if skill not in out:
            out.append(skill)
    if len(out) > MAX_SKILLS:
        raise Invalid(f"at most {MAX_SKILLS} skills", field="skills")
    return out or None


def serving_unit(session: Session, principal: Principal, code: Any, field: str = "unit_code") -> str:
    code = units.check_code(code, field)
    if not principal.scope.covers(code):
        raise NotFound(f"no unit {code} in your scope", field=field)
    if not units.unit_exists(session, code):
        raise Invalid(f"unknown unit {code}", field=field)
    return code


def create_volunteer(session: Session, principal: Principal, data: dict[str, Any]) -> Volunteer:
    """Open a profile for a registry person in the caller's scope: one per person (a second is 409). With a
    user name and password, an account of role volunteer is made too, scoped to the unit they serve."""
    policy.require_manager(principal)
    person_id = data.get("person_id")
    if not isinstance(person_id, uuid.UUID):
        raise Invalid("required: the registry person who volunteers", field="person_id")
    try:
        person = people.get_person(session, principal, person_id)
    except NotFound:
        raise NotFound("no such person in your scope", field="person_id") from None
    if person.anonymized_at is not None:
        raise Conflict("this person has been anonymized", field="person_id")
    unit = data.get("unit_code") or person.grid_code[:12]
    if not principal.scope.covers(unit) and not data.get("unit_code"):
        unit = person.grid_code  # a grid worker's volunteer serves the grid
    unit = serving_unit(session, principal, unit)
    existing = session.scalar(select(Volunteer.id).where(Volunteer.district_code == person.district_code,
                                                         Volunteer.person_id == person.id))
    if existing is not None:
        raise Conflict("this person already has a volunteer profile", field="person_id", reason="has_profile",
                       details={"volunteer_id": str(existing)})
    volunteer = Volunteer(district_code=person.district_code, person_id=person.id, unit_code=unit,
                          team_code=check_team(session, data.get("team_code")), skills=_skills(data.get("skills")),
                          availability=parse_week(data.get("availability"), "availability"),
                          joined_on=data.get("joined_on") or local_today(), active=True)
    session.add(volunteer)
    session.flush()
    if data.get("username"):
        create_account(session, principal, volunteer.id, data["username"], data.get("password"),
                       volunteer=volunteer, full_name=person.name)
    accounts.audit_for(session, principal, "volunteer_created", target=str(volunteer.id))
    return volunteer


def update_volunteer(session: Session, principal: Principal, volunteer_id: uuid.UUID,
                     data: dict[str, Any]) -> Volunteer:
    """Change the fields present in `data` (a PATCH)."""
    volunteer = get_volunteer(session, principal, volunteer_id)
    if not policy.may_manage(principal, volunteer):
        raise Forbidden("only staff of the unit the volunteer serves may change the profile", field="role")
    if "team_code" in data:
        volunteer.team_code = check_team(session, data["team_code"])
    if "skills" in data:
        volunteer.skills = _skills(data["skills"])
    if "availability" in data:
        volunteer.availability = parse_week(data["availability"], "availability")
    if "unit_code" in data and data["unit_code"] != volunteer.unit_code:
        volunteer.unit_code = serving_unit(session, principal, data["unit_code"])
        if volunteer.user_id is not None:
            user = accounts.users_by_ids(session, [volunteer.user_id]).get(volunteer.user_id)
            if user is not None:
                user.scope_code = volunteer.unit_code
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("must be true or false", field="active")
        volunteer.active = data["active"]
    session.flush()
    return volunteer


def create_account(session: Session, principal: Principal, volunteer_id: uuid.UUID, username: Any,
                   password: Any, *, volunteer: Volunteer | None = None, full_name: str | None = None) -> Any:
    """An account of role volunteer for the profile, scoped to the unit the volunteer serves."""
    volunteer = volunteer or get_volunteer(session, principal, volunteer_id)
    if not policy.may_manage(principal, volunteer):
        raise Forbidden("only staff of the unit the volunteer serves may make the account", field="role")
    if volunteer.user_id is not None:
        raise Conflict("this volunteer already has an account", field="username")
    if not isinstance(username, str):
        raise Invalid(field="username", reason="required")
    if not isinstance(password, str):
        raise Invalid(field="password", reason="required")
    if full_name is None:
        full_name = people.get_person(session, principal, volunteer.person_id).name
    user = accounts.create_user(session, username=username, full_name=full_name, role=Role.volunteer.value,
                                scope_code=volunteer.unit_code, password=password,
                                check_unit=True)
    volunteer.user_id = user.id
    session.flush()
    accounts.audit_for(session, principal, "volunteer_account_created", target=str(volunteer.id))
    return user


def names_of(session: Session, volunteers: list[Volunteer]) -> dict[uuid.UUID, str]:
    """Display names of volunteers (the registry person's name), read without scope: the caller has already
    been allowed to see these volunteers."""
    from jiayuan.registry.models import Person  # the registry's table, read for names only

    ids = {v.person_id for v in volunteers}
    if not ids:
        return {}
    names = dict(session.execute(select(Person.id, Person.name).where(
        Person.district_code.in_({v.district_code for v in volunteers}), Person.id.in_(ids))).all())
    return {v.id: names.get(v.person_id, "") for v in volunteers}


# --- The hours ledger ----------------------------------------------------------------------------


def _actor_id(actor: Any) -> uuid.UUID | None:
    if actor is None or isinstance(actor, uuid.UUID):
        return actor
    if isinstance(actor, Principal):
        return actor.user_id
    raise TypeError("actor must be a Principal, a user id or None")


def _check_entry(minutes: Any, kind: Any, source_type: Any, source_id: Any, note: Any) -> str | None:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise Invalid("must be a whole number of minutes above 0", field="minutes")
    if minutes > MAX_MINUTES:
        raise Invalid(f"at most {MAX_MINUTES} minutes in one entry", field="minutes")
    if kind not in LEDGER_KINDS:
        raise Invalid(f"must be one of {', '.join(LEDGER_KINDS)}", field="kind")
    if source_type is not None and (not isinstance(source_type, str) or not source_type
                                    or len(source_type) > SOURCE_TYPE_MAX):
        raise Invalid(f"a name of at most {SOURCE_TYPE_MAX} characters", field="source_type")
    if source_id is not None and not isinstance(source_id, uuid.UUID):
        raise Invalid("must be an id", field="source_id")
    if source_id is not None and source_type is None:
        raise Invalid("required with source_id", field="source_type")
    if note is not None:
        if not isinstance(note, str):
            raise Invalid("must be text", field="note")
        note = note.strip() or None
        if note and len(note) > NOTE_MAX:
            raise Invalid(f"at most {NOTE_MAX} characters", field="note")
        if note and "\x00" in note:
            raise Invalid("contains a NUL character", field="note")
    return note


def lock_volunteer(session: Session, district: str, volunteer_id: uuid.UUID) -> Volunteer:
    """The volunteer's row, locked until the transaction ends (SELECT … FOR UPDATE; SQLite already holds the
    database's write lock from BEGIN IMMEDIATE). Everything that reads a balance to decide a write waits here, and
    so do other domains' checks of a volunteer's own records (care: overlapping visits; charity: the month's
    conversions)."""
    volunteer = session.scalar(select(Volunteer).where(Volunteer.district_code == district,
                                                       Volunteer.id == volunteer_id)
                               .with_for_update().execution_options(populate_existing=True))
    if volunteer is None:
        raise NotFound("no such volunteer", field="volunteer_id")
    return volunteer


def _existing(session: Session, district: str, volunteer_id: uuid.UUID, source_type: str | None,
              source_id: uuid.UUID | None) -> HoursEntry | None:
    if source_id is None:
        return None
    return session.scalar(select(HoursEntry).where(
        HoursEntry.district_code == district, HoursEntry.volunteer_id == volunteer_id,
        HoursEntry.source_type == source_type, HoursEntry.source_id == source_id))


def _same_direction(entry: HoursEntry, credit: bool) -> HoursEntry:
    if (entry.minutes > 0) != credit:
        raise Conflict(f"this source was already entered as a {'debit' if credit else 'credit'}",
                       field="source_id", details={"entry_id": str(entry.id), "minutes": entry.minutes})
    return entry


def _add_entry(session: Session, entry: HoursEntry) -> None:
    # The volunteer's row lock makes a concurrent retry of the same source wait and then find the first
    # entry; the unique index stays the last word, so a collision becomes the 409 of the IntegrityError handler.
    session.add(entry)
    session.flush()


def credit_hours(session: Session, volunteer_id: uuid.UUID, district: str, minutes: int, kind: str,
                 source_type: str | None, source_id: uuid.UUID | None, note: str | None = None,
                 actor: Any = None) -> HoursEntry:
    """Credit `minutes` to a volunteer. A source (type and id) credits once: a retry returns the first entry.
    Honours whose threshold this credit crosses are awarded in the same transaction."""
    note = _check_entry(minutes, kind, source_type, source_id, note)
    lock_volunteer(session, district, volunteer_id)
    found = _existing(session, district, volunteer_id, source_type, source_id)
    if found is not None:
        return _same_direction(found, credit=True)
    entry = HoursEntry(district_code=district, volunteer_id=volunteer_id, at=utcnow(), minutes=minutes, kind=kind,
                       source_type=source_type, source_id=source_id, note=note, entered_by=_actor_id(actor))
    _add_entry(session, entry)
    award_honours(session, district, volunteer_id)
    return entry


def debit_hours(session: Session, volunteer_id: uuid.UUID, district: str, minutes: int, kind: str,
                source_type: str | None, source_id: uuid.UUID | None, note: str | None = None,
                actor: Any = None) -> HoursEntry:
    """Debit `minutes` (stored as a negative entry). The volunteer's row is locked before the balance is read,
    so two concurrent debits never overdraw; a debit beyond the balance is 409 and writes nothing."""
    note = _check_entry(minutes, kind, source_type, source_id, note)
    lock_volunteer(session, district, volunteer_id)
    found = _existing(session, district, volunteer_id, source_type, source_id)
    if found is not None:
        return _same_direction(found, credit=False)
    balance = balance_minutes(session, district, volunteer_id)
    if minutes > balance:
        raise Conflict(f"the balance is {balance} minutes; {minutes} would make it negative", field="minutes",
                       reason="over_balance", details={"balance_minutes": balance, "minutes": minutes})
    entry = HoursEntry(district_code=district, volunteer_id=volunteer_id, at=utcnow(), minutes=-minutes, kind=kind,
                       source_type=source_type, source_id=source_id, note=note, entered_by=_actor_id(actor))
    _add_entry(session, entry)
    return entry


def balance_minutes(session: Session, district: str, volunteer_id: uuid.UUID) -> int:
    """The balance: the sum of the ledger."""
    return int(session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0)).where(
        HoursEntry.district_code == district, HoursEntry.volunteer_id == volunteer_id)) or 0)


def converted_minutes(session: Session, district: str, volunteer_id: uuid.UUID, since: datetime,
                      until: datetime) -> int:
    """Minutes of the volunteer's hours converted (into charity points) in [since, until), as a positive number."""
    return -int(session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0)).where(
        HoursEntry.district_code == district, HoursEntry.volunteer_id == volunteer_id,
        HoursEntry.kind == "conversion", HoursEntry.at >= since, HoursEntry.at < until)) or 0)


def service_minutes(session: Session, district: str, volunteer_id: uuid.UUID) -> int:
    """Minutes of service that count towards honours: every entry but conversions (hours spent on points do
    not take an honour back)."""
    return int(session.scalar(select(func.coalesce(func.sum(HoursEntry.minutes), 0)).where(
        HoursEntry.district_code == district, HoursEntry.volunteer_id == volunteer_id,
        HoursEntry.kind != "conversion")) or 0)


@dataclass
class Totals:
    balance: int
    service: int


def totals_of(session: Session, district: str, volunteer_ids: list[uuid.UUID]) -> dict[uuid.UUID, Totals]:
    """Balance and service minutes of many volunteers in one query."""
    if not volunteer_ids:
        return {}
    balance = dict(session.execute(
        select(HoursEntry.volunteer_id, func.sum(HoursEntry.minutes))
        .where(HoursEntry.district_code == district, HoursEntry.volunteer_id.in_(volunteer_ids))
        .group_by(HoursEntry.volunteer_id)).all())
    service = dict(session.execute(
        select(HoursEntry.volunteer_id, func.sum(HoursEntry.minutes))
        .where(HoursEntry.district_code == district, HoursEntry.volunteer_id.in_(volunteer_ids),
               HoursEntry.kind != "conversion")
        .group_by(HoursEntry.volunteer_id)).all())
    return {v: Totals(int(balance.get(v) or 0), int(service.get(v) or 0)) for v in volunteer_ids}


def ledger(session: Session, principal: Principal, volunteer_id: uuid.UUID, *, limit: int = 200,
           offset: int = 0) -> tuple[Volunteer, list[HoursEntry]]:
    volunteer = get_volunteer(session, principal, volunteer_id)
    rows = session.scalars(select(HoursEntry).where(
        HoursEntry.district_code == volunteer.district_code, HoursEntry.volunteer_id == volunteer.id)
        .order_by(HoursEntry.at.desc(), HoursEntry.id.desc()).limit(limit).offset(offset))
    return volunteer, list(rows)


def adjust_hours(session: Session, principal: Principal, volunteer_id: uuid.UUID, minutes: Any,
                 note: Any) -> HoursEntry:
    """A correction by staff (kind adjustment): positive credits, negative debits; a reason is required."""
    volunteer = get_volunteer(session, principal, volunteer_id)
    if not policy.may_manage(principal, volunteer):
        raise Forbidden("only staff of the unit the volunteer serves may adjust hours", field="role")
    if not isinstance(note, str) or len(note.strip()) < 2:
        raise Invalid("say why the hours are adjusted", field="note", reason="no_note")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes == 0:
        raise Invalid("a whole number of minutes, not 0 (negative to take hours off)", field="minutes",
                      reason="zero_minutes")
    fn = credit_hours if minutes > 0 else debit_hours
    entry = fn(session, volunteer.id, volunteer.district_code, abs(minutes), "adjustment", None, None, note=note,
               actor=principal)
    accounts.audit_for(session, principal, "volunteer_hours_adjusted", target=str(volunteer.id),
                       detail={"minutes": minutes})
    return entry


# --- Work logged but not counted yet -------------------------------------------------------------


@dataclass(frozen=True)
class PendingWork:
    """Work a volunteer logged that credits nothing until it is confirmed or approved (a care visit waiting for
    the person's code or card, or for staff): shown beside the ledger, never in it."""

    kind: str  # what it is, e.g. "visit"
    at: datetime
    minutes: int
    link: str  # the page where it is confirmed or approved


# Other domains that hold such work register a reader here (hooks.py; care registers its visits):
# reader(session, district, volunteer_id) -> list[PendingWork].
PENDING_WORK: list[Callable[[Session, str, uuid.UUID], list[PendingWork]]] = []


def pending_work(session: Session, volunteer: Volunteer) -> list[PendingWork]:
    """The volunteer's work waiting to be counted, newest first."""
    found: list[PendingWork] = []
    for reader in PENDING_WORK:
        found += reader(session, volunteer.district_code, volunteer.id)
    return sorted(found, key=lambda p: p.at, reverse=True)


# --- Honours -------------------------------------------------------------------------------------


def award_honours(session: Session, district: str, volunteer_id: uuid.UUID) -> list[Honour]:
    """Award every threshold the volunteer's service has reached and that has no honour yet. Called by
    `credit_hours` with the volunteer's row locked, so a threshold is awarded once."""
    reached = service_minutes(session, district, volunteer_id) // 60
    due = [h for h in HONOUR_HOURS if h <= reached]
    if not due:
        return []
    have = set(session.scalars(select(Honour.threshold_hours).where(
        Honour.district_code == district, Honour.volunteer_id == volunteer_id)))
    awarded = []
    for threshold in due:
        if threshold not in have:
            awarded.append(_award(session, district, volunteer_id, threshold))
    volunteer = session.get(Volunteer, (district, volunteer_id)) if awarded else None
    if volunteer is not None and volunteer.user_id is not None:
        for honour in awarded:
            queue_message(session, district_code=district, channel="inapp", recipient=str(volunteer.user_id),
                          user_id=volunteer.user_id, ref=honour.certificate_no,
                          body=HONOUR_TEXT.format(hours=honour.threshold_hours, number=honour.certificate_no))
    return awarded


def _award(session: Session, district: str, volunteer_id: uuid.UUID, threshold: int) -> Honour:
    """One honour with the next certificate number of the district and year (ZY + district + year + sequence).
    Two volunteers of a district may cross a threshold at the same moment: the number's unique index refuses
    the second, which takes the next number inside a savepoint."""
    now = utcnow()
    prefix = f"{CERTIFICATE_PREFIX}{district}{now.astimezone(TIMEZONE).year}"
    for _attempt in range(5):
        last = session.scalar(select(func.max(Honour.certificate_no)).where(
            Honour.district_code == district, Honour.certificate_no.like(f"{prefix}%")))
        sequence = int(last[len(prefix):]) + 1 if last else 1
        honour = Honour(district_code=district, volunteer_id=volunteer_id, threshold_hours=threshold,
                        awarded_at=now, certificate_no=f"{prefix}{sequence:0{CERTIFICATE_SEQUENCE_DIGITS}d}")
        try:
            with session.begin_nested():
                session.add(honour)
        except IntegrityError:
            continue
        return honour
    raise Conflict("could not number the certificate; try again", field="certificate_no")


def honours_of(session: Session, principal: Principal, volunteer_id: uuid.UUID) -> list[Honour]:
    volunteer = get_volunteer(session, principal, volunteer_id)
    return list(session.scalars(select(Honour).where(
        Honour.district_code == volunteer.district_code, Honour.volunteer_id == volunteer.id)
        .order_by(Honour.threshold_hours)))


def get_honour(session: Session, principal: Principal, honour_id: uuid.UUID) -> tuple[Honour, Volunteer]:
    """A certificate the caller may see: their own, or of a volunteer in their scope."""
    honour = session.scalar(select(Honour).where(Honour.id == honour_id))
    if honour is None:
        raise NotFound("no such certificate", field="honour_id")
    try:
        volunteer = get_volunteer(session, principal, honour.volunteer_id)
    except NotFound:
        raise NotFound("no such certificate", field="honour_id") from None
    return honour, volunteer


def next_honour(service: int) -> int | None:
    """The next threshold in hours, None after the last."""
    hours = service // 60
    return next((h for h in HONOUR_HOURS if h > hours), None)


# --- Figures for stats ---------------------------------------------------------------------------------------

CREDIT_KINDS = ("service", "activity")  # hours of help given; conversions and adjustments are not


def figures(session: Session, within: Within, since: datetime, until: datetime, as_of: date) -> list[Figure]:
    """Active volunteers by team (those who had joined by `as_of`), and the hours credited in [since, until): the
    positive service and activity entries of the ledger, by the unit of the volunteer they were credited to.
    `within` selects the volunteers of the unit asked for (kit/figures.py)."""
    out: list[Figure] = []
    rows = session.execute(
        select(Volunteer.unit_code, Volunteer.team_code, func.count())
        .where(within(Volunteer.unit_code, Volunteer.district_code), Volunteer.active.is_(True),
               Volunteer.joined_on <= as_of)
        .group_by(Volunteer.unit_code, Volunteer.team_code))
    for unit, team, n in rows:
        out += [Figure(unit, "volunteers.active", n), Figure(unit, f"volunteers.team.{team or 'none'}", n)]
    hours = session.execute(
        select(Volunteer.unit_code, HoursEntry.kind, func.sum(HoursEntry.minutes), func.count())
        .join(Volunteer, and_(Volunteer.district_code == HoursEntry.district_code,
                              Volunteer.id == HoursEntry.volunteer_id))
        .where(within(Volunteer.unit_code, Volunteer.district_code), HoursEntry.minutes > 0,
               HoursEntry.kind.in_(CREDIT_KINDS), HoursEntry.at >= since, HoursEntry.at < until)
        .group_by(Volunteer.unit_code, HoursEntry.kind))
    for unit, kind, minutes, n in hours:
        out += [Figure(unit, "volunteers.minutes", minutes), Figure(unit, "volunteers.credits", n),
                Figure(unit, f"volunteers.kind.{kind}", minutes)]
    return out
