"""People in care: who may see them, opening a profile from the registry's tags, contacts, pairings (结对), and
keeping care rows in the person's grid when the registry moves them."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.care.models import (
    CARE_LEVELS,
    NEEDS,
    CareAlert,
    CareProfile,
    EmergencyContact,
    Pairing,
    Visit,
)
from jiayuan.care.policy import registry_view, require_staff, visible_pairings, visible_profiles
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.identity import mask_phone, parse_mobile
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import clean_text, search_term
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import people
from jiayuan.volunteers import service as volunteers

# Groups that make someone a person in care (aged_80 follows from the birth date).
CARE_TAGS = ("living_alone", "empty_nest", "disabled", "allowance", "aged_80")
MAX_INTERVAL_DAYS = 365
NOTES_MAX = 2000
CONTACTS_MAX = 5
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_CHUNK = 500


# --- Who may see what ------------------------------------------------------------------------------


# Crockford's base32: no I, L, O or U, so that nothing on the card reads as another character when typed by hand.
CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_card_token() -> str:
    """16 characters (80 bits) for the printed card: too many to guess, few enough to type in groups of four."""
    return "".join(secrets.choice(CARD_ALPHABET) for _ in range(16))


def get_profile(session: Session, principal: Principal, profile_id: uuid.UUID) -> CareProfile:
    """A profile the caller may see; any other is 404 (never 403: it does not exist for them)."""
    profile = session.scalar(select(CareProfile).where(visible_profiles(session, principal),
                                                       CareProfile.id == profile_id))
    if profile is None:
        raise NotFound("no such person in care", field="profile_id")
    return profile


def profile_of_person(session: Session, principal: Principal, person_id: uuid.UUID) -> CareProfile | None:
    return session.scalar(select(CareProfile).where(visible_profiles(session, principal),
                                                    CareProfile.person_id == person_id))


def person_of(session: Session, principal: Principal, profile: CareProfile) -> Person:
    """The registry's person of a profile the caller may see (the person record decrypts the phone)."""
    return people.get_person(session, registry_view(principal, profile.grid_code), profile.person_id)


# --- Checking input ----------------------------------------------------------------------------------


def _level(value: Any) -> str:
    if value not in CARE_LEVELS:
        raise Invalid(f"level must be one of {', '.join(CARE_LEVELS)}", field="level")
    return value


def _needs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise Invalid("needs is a list", field="needs")
    unknown = [v for v in value if v not in NEEDS]
    if unknown:
        raise Invalid(f"needs must be among {', '.join(NEEDS)}", field="needs")
    return [n for n in NEEDS if n in value]  # one order everywhere, no repeats


def _interval(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INTERVAL_DAYS:
        raise Invalid(f"visit interval must be a whole number of days from 1 to {MAX_INTERVAL_DAYS}",
                      field="visit_interval_days")
    return value


def clean_phone(value: Any, field: str = "phone") -> str:
    """A mainland mobile (11 digits) or a landline with its area code (0796-8220001 → 07968220001)."""
    text = unicodedata.normalize("NFKC", value or "") if isinstance(value, str) else ""
    compact = re.sub(r"[\s()\-]", "", text)
    if not compact:
        raise Invalid("a phone number is required", field=field)
    if _LANDLINE.fullmatch(compact):
        return compact
    return parse_mobile(compact, field=field)


def care_tags_of(session: Session, person: Person, today: date) -> list[str]:
    tags = people.current_tags(person, people.tags_of(session, [person])[person.id], today)
    return [t for t in tags if t in CARE_TAGS]


# --- Profiles ------------------------------------------------------------------------------------------


def open_profile(session: Session, principal: Principal, person_id: uuid.UUID, *, level: str = "medium",
                 needs: Sequence[str] | None = None, notes: str | None = None,
                 visit_interval_days: int | None = None, contacts: Sequence[dict[str, Any]] | None = None,
                 today: date | None = None) -> CareProfile:
    """Open care for a registry person of the caller's scope who carries a care tag or is 80 or older.

    An ended profile of the same person is opened again (one profile per person, its history kept)."""
    require_staff(principal)
    today = today or local_today()
    person = people.get_person(session, principal, person_id)
    if person.anonymized_at is not None:
        raise Conflict("this person has been anonymized", field="person_id", reason="anonymized")
    if not care_tags_of(session, person, today):
        raise Invalid("the person is in no care group: living alone, empty nest, disabled, minimum living "
                      "allowance, or aged 80 or over (add the group in the registry first)", field="person_id",
                      reason="no_care_group")
    values = {"level": _level(level), "needs": _needs(needs), "notes": clean_text(notes, "notes", NOTES_MAX),
              "visit_interval_days": _interval(visit_interval_days)}
    contacts = list(contacts or [])
    if len(contacts) > CONTACTS_MAX:
        raise Invalid(f"at most {CONTACTS_MAX} emergency contacts", field="contacts")
    cleaned = [_contact_values(c, f"contacts[{i}]") for i, c in enumerate(contacts)]
    profile = session.scalar(select(CareProfile).where(CareProfile.district_code == person.district_code,
                                                       CareProfile.person_id == person.id))
    if profile is not None and profile.ended_on is None:
        raise Conflict("this person is already in care", field="person_id", reason="already_in_care")
    if profile is None:
        profile = CareProfile(district_code=person.district_code, person_id=person.id,
                              card_token=new_card_token())
        session.add(profile)
    for key, value in values.items():
        setattr(profile, key, value)
    profile.grid_code, profile.started_on, profile.ended_on = person.grid_code, today, None
    session.flush()
    for c in cleaned:
        session.add(EmergencyContact(district_code=profile.district_code, profile_id=profile.id, **c))
    session.flush()
    return profile


def update_profile(session: Session, principal: Principal, profile_id: uuid.UUID,
                   data: dict[str, Any]) -> CareProfile:
    """Change the fields in `data` (absent keys stay; visit_interval_days None returns to the district's)."""
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    if "level" in data:
        profile.level = _level(data["level"])
    if "needs" in data:
        profile.needs = _needs(data["needs"])
    if "notes" in data:
        profile.notes = clean_text(data["notes"], "notes", NOTES_MAX)
    if "visit_interval_days" in data:
        profile.visit_interval_days = _interval(data["visit_interval_days"])
    session.flush()
    return profile


def end_profile(session: Session, principal: Principal, profile_id: uuid.UUID, reason: str | None = None,
                today: date | None = None) -> CareProfile:
    """End care: the person's active pairings end with it and an open alert is resolved; nothing is deleted."""
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    if profile.ended_on is not None:
        raise Conflict("care of this person has already ended", field="ended_on", reason="already_ended")
    today = today or local_today()
    profile.ended_on = today
    why = clean_text(reason, "reason", 200) or "care ended"
    session.execute(update(Pairing).where(Pairing.district_code == profile.district_code,
                                          Pairing.person_id == profile.person_id, Pairing.active)
                    .values(active=False, ended_on=today, end_reason=why, updated_at=utcnow()))
    resolve_alert(session, profile.district_code, profile.person_id)
    session.flush()
    return profile


def reissue_card(session: Session, principal: Principal, profile_id: uuid.UUID) -> CareProfile:
    """A new card token, when a card is lost: the old card no longer confirms visits."""
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    profile.card_token = new_card_token()
    session.flush()
    return profile


def resolve_alert(session: Session, district: str, person_id: uuid.UUID, *,
                  visited_at: datetime | None = None) -> bool:
    """Close the person's open not-visited alert, if any. Given the time of a visit that now counts (confirmed or
    approved), only an alert counted from an earlier visit, or from none."""
    stmt = update(CareAlert).where(CareAlert.district_code == district, CareAlert.person_id == person_id,
                                   CareAlert.open)
    if visited_at is not None:
        stmt = stmt.where(or_(CareAlert.last_visit_at.is_(None), CareAlert.last_visit_at < visited_at))
    result = session.execute(stmt.values(open=False, resolved_at=utcnow()))
    return bool(result.rowcount)


@dataclass
class ProfileRow:
    profile: CareProfile
    name: str
    birth_date: date | None
    open_alert: CareAlert | None


def _list_statement(session: Session, principal: Principal, *, unit: str | None, level: str | None,
                    need: str | None, tag: str | None, alert: bool | None, q: str | None, ended: bool,
                    today: date) -> Any:
    person = and_(Person.district_code == CareProfile.district_code, Person.id == CareProfile.person_id)
    stmt = select(CareProfile, Person.name, Person.birth_date).join(Person, person).where(
        visible_profiles(session, principal))
    if not ended:
        stmt = stmt.where(CareProfile.ended_on.is_(None))
    if unit:
        if not unit.isdigit() or len(unit) not in (6, 9, 12, 15):
            raise Invalid("not a unit code", field="unit")
        stmt = stmt.where(Scope((unit,)).where(CareProfile))
    if level:
        stmt = stmt.where(CareProfile.level == _level(level))
    if need:
        _needs([need])
        # JSON lists: the value sits quoted in the text on both engines.
        stmt = stmt.where(cast(CareProfile.needs, Text).contains(f'"{need}"'))
    if tag:
        if tag not in CARE_TAGS:
            raise Invalid(f"tag must be one of {', '.join(CARE_TAGS)}", field="tag")
        if tag == "aged_80":
            stmt = stmt.where(Person.birth_date <= people.aged_cutoff(today, 80))
        else:
            stmt = stmt.where(CareProfile.person_id.in_(select(PersonTag.person_id).where(
                PersonTag.district_code == CareProfile.district_code, PersonTag.tag == tag,
                people.tag_active(today))))
    if alert is not None:
        has = select(CareAlert.id).where(CareAlert.district_code == CareProfile.district_code,
                                         CareAlert.person_id == CareProfile.person_id, CareAlert.open).exists()
        stmt = stmt.where(has if alert else ~has)
    if text := search_term(unicodedata.normalize("NFKC", q or "")):
        clauses = [Person.name.contains(text, autoescape=True)]
        if text.isascii() and text.isalpha():
            clauses.append(Person.name_initials.startswith(text.upper(), autoescape=True))
        stmt = stmt.where(or_(*clauses))
    return stmt


def list_profiles(session: Session, principal: Principal, *, unit: str | None = None, level: str | None = None,
                  need: str | None = None, tag: str | None = None, alert: bool | None = None,
                  q: str | None = None, ended: bool = False, limit: int = 50, offset: int = 0,
                  today: date | None = None) -> tuple[list[ProfileRow], int]:
    """People in care the caller may see, filtered, with their open alert; (page, total). Those with an open
    alert come first, the longest without a visit at the top."""
    today = today or local_today()
    stmt = _list_statement(session, principal, unit=unit, level=level, need=need, tag=tag, alert=alert, q=q,
                           ended=ended, today=today)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    alert_days = (select(CareAlert.days_without_visit).where(
        CareAlert.district_code == CareProfile.district_code, CareAlert.person_id == CareProfile.person_id,
        CareAlert.open).scalar_subquery())
    rows = session.execute(stmt.order_by(func.coalesce(alert_days, -1).desc(), Person.name_initials, Person.name,
                                         CareProfile.id).limit(limit).offset(offset)).all()
    alerts = open_alerts_of(session, [r[0] for r in rows])
    return [ProfileRow(p, name, birth, alerts.get(p.person_id)) for p, name, birth in rows], total


def open_alerts_of(session: Session, profiles: Sequence[CareProfile]) -> dict[uuid.UUID, CareAlert]:
    if not profiles:
        return {}
    found = session.scalars(select(CareAlert).where(
        CareAlert.district_code.in_({p.district_code for p in profiles}),
        CareAlert.person_id.in_([p.person_id for p in profiles]), CareAlert.open))
    return {a.person_id: a for a in found}


def candidates(session: Session, principal: Principal, *, grid: str | None = None, tag: str | None = None,
               q: str | None = None, limit: int = 50, today: date | None = None) -> list[tuple[Person, list[str]]]:
    """People of the caller's scope in a care group who have no open profile yet, with their care groups."""
    require_staff(principal)
    today = today or local_today()
    wanted = [tag] if tag in CARE_TAGS else list(CARE_TAGS)
    found: dict[uuid.UUID, Person] = {}
    for t in wanted:
        for p in people.list_people(session, principal, grid=grid, tag=t, q=q, limit=limit, today=today):
            found.setdefault(p.id, p)
    if not found:
        return []
    in_care = set(session.scalars(select(CareProfile.person_id).where(
        principal.scope.where(CareProfile), CareProfile.ended_on.is_(None),
        CareProfile.person_id.in_(list(found)))))
    chosen = sorted((p for p in found.values() if p.id not in in_care and p.anonymized_at is None),
                    key=lambda p: (p.name_initials or "", p.name))[:limit]
    tags = people.tags_of(session, chosen)
    return [(p, [t for t in people.current_tags(p, tags[p.id], today) if t in CARE_TAGS]) for p in chosen]


# --- Emergency contacts ----------------------------------------------------------------------------------


def _contact_values(data: Any, field: str = "") -> dict[str, Any]:
    prefix = f"{field}." if field else ""
    if not isinstance(data, dict):
        raise Invalid("a contact has a name and a phone", field=field or "contact")
    name = clean_text(data.get("name"), f"{prefix}name", 60)
    if not name:
        raise Invalid("the contact's name is required", field=f"{prefix}name")
    relation = clean_text(data.get("relation"), f"{prefix}relation", 20)
    return {"name": name, "relation": relation, "phone": clean_phone(data.get("phone"), f"{prefix}phone")}


def add_contact(session: Session, principal: Principal, profile_id: uuid.UUID, *, name: str,
                phone: str, relation: str | None = None) -> EmergencyContact:
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    values = _contact_values({"name": name, "relation": relation, "phone": phone})
    if len(contacts_of(session, profile)) >= CONTACTS_MAX:
        raise Conflict(f"at most {CONTACTS_MAX} emergency contacts", field="contacts")
    contact = EmergencyContact(district_code=profile.district_code, profile_id=profile.id, **values)
    session.add(contact)
    session.flush()
    return contact


def remove_contact(session: Session, principal: Principal, profile_id: uuid.UUID, contact_id: uuid.UUID) -> None:
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    contact = session.scalar(select(EmergencyContact).where(EmergencyContact.district_code == profile.district_code,
                                                            EmergencyContact.profile_id == profile.id,
                                                            EmergencyContact.id == contact_id))
    if contact is None:
        raise NotFound("no such contact", field="contact_id")
    session.delete(contact)
    session.flush()


def contacts_of(session: Session, profile: CareProfile) -> list[EmergencyContact]:
    return list(session.scalars(select(EmergencyContact).where(
        EmergencyContact.district_code == profile.district_code, EmergencyContact.profile_id == profile.id
    ).order_by(EmergencyContact.id)))


def masked_contact(contact: EmergencyContact) -> dict[str, Any]:
    """A contact as every page and answer shows it: the phone masked."""
    return {"id": contact.id, "name": contact.name, "relation": contact.relation,
            "phone": mask_phone(contact.phone)}


# --- Pairings (结对) ------------------------------------------------------------------------------------


def pair(session: Session, principal: Principal, profile_id: uuid.UUID, volunteer_id: uuid.UUID,
         started_on: date | None = None) -> Pairing:
    """Pair a volunteer with a person in care; a second active pairing of the same two is 409."""
    require_staff(principal)
    profile = get_profile(session, principal, profile_id)
    if profile.ended_on is not None:
        raise Conflict("care of this person has ended", field="profile_id", reason="ended")
    volunteer = volunteers.get_volunteer(session, principal, volunteer_id)
    if not volunteer.active:
        raise Conflict("this volunteer is no longer active", field="volunteer_id", reason="inactive")
    if volunteer.district_code != profile.district_code:
        raise Invalid("the volunteer serves in another district", field="volunteer_id")
    if volunteer.person_id == profile.person_id:
        raise Invalid("a person cannot be paired with themselves", field="volunteer_id")
    taken = session.scalar(select(Pairing.id).where(
        Pairing.district_code == profile.district_code, Pairing.volunteer_id == volunteer.id,
        Pairing.person_id == profile.person_id, Pairing.active))
    if taken is not None:
        raise Conflict("this volunteer is already paired with this person", field="volunteer_id",
                       reason="already_paired")
    pairing = Pairing(district_code=profile.district_code, person_id=profile.person_id,
                      volunteer_id=volunteer.id, grid_code=profile.grid_code,
                      started_on=started_on or local_today(), active=True)
    session.add(pairing)
    session.flush()
    return pairing


def get_pairing(session: Session, principal: Principal, pairing_id: uuid.UUID) -> Pairing:
    pairing = session.scalar(select(Pairing).where(visible_pairings(session, principal), Pairing.id == pairing_id))
    if pairing is None:
        raise NotFound("no such pairing", field="pairing_id")
    return pairing


def end_pairing(session: Session, principal: Principal, pairing_id: uuid.UUID, reason: str,
                ended_on: date | None = None) -> Pairing:
    """End a pairing with the date and the reason; the row stays (visits point at it)."""
    require_staff(principal)
    pairing = get_pairing(session, principal, pairing_id)
    if not pairing.active:
        raise Conflict("this pairing has already ended", field="pairing_id", reason="already_ended")
    why = clean_text(reason, "reason", 200)
    if not why:
        raise Invalid("give the reason the pairing ends", field="reason")
    ended_on = ended_on or local_today()
    if ended_on < pairing.started_on:
        raise Invalid("the end is before the start", field="ended_on")
    pairing.active, pairing.ended_on, pairing.end_reason = False, ended_on, why
    session.flush()
    return pairing


@dataclass
class PairingRow:
    pairing: Pairing
    person_name: str
    profile_id: uuid.UUID | None


def list_pairings(session: Session, principal: Principal, *, profile_id: uuid.UUID | None = None,
                  volunteer_id: uuid.UUID | None = None, active: bool | None = True, limit: int = 200,
                  offset: int = 0) -> list[PairingRow]:
    """Pairings the caller may see (a volunteer: their own), with the person's name and profile."""
    stmt = (select(Pairing, Person.name, CareProfile.id)
            .join(Person, and_(Person.district_code == Pairing.district_code, Person.id == Pairing.person_id))
            .outerjoin(CareProfile, and_(CareProfile.district_code == Pairing.district_code,
                                         CareProfile.person_id == Pairing.person_id))
            .where(visible_pairings(session, principal)))
    if profile_id is not None:
        profile = get_profile(session, principal, profile_id)
        stmt = stmt.where(Pairing.district_code == profile.district_code, Pairing.person_id == profile.person_id)
    if volunteer_id is not None:
        stmt = stmt.where(Pairing.volunteer_id == volunteer_id)
    if active is not None:
        stmt = stmt.where(Pairing.active == active)
    rows = session.execute(stmt.order_by(Pairing.active.desc(), Person.name_initials, Person.name, Pairing.id)
                           .limit(limit).offset(offset))
    return [PairingRow(p, name, pid) for p, name, pid in rows]


def active_pairing(session: Session, district: str, volunteer_id: uuid.UUID, person_id: uuid.UUID) -> Pairing | None:
    return session.scalar(select(Pairing).where(Pairing.district_code == district,
                                                Pairing.volunteer_id == volunteer_id,
                                                Pairing.person_id == person_id, Pairing.active))


# --- Registry moves -------------------------------------------------------------------------------------


def rehome(session: Session, district: str, person_ids: list[uuid.UUID], to_grid: str) -> None:
    """The registry's move hook: care rows of these people now belong to `to_grid`, so that the new grid's
    worker sees them and the old one no longer does. Closed alerts keep the grid they were raised in."""
    for i in range(0, len(person_ids), _CHUNK):
        chunk = list(person_ids[i:i + _CHUNK])
        for model, extra in ((CareProfile, ()), (Pairing, ()), (Visit, ()), (CareAlert, (CareAlert.open,))):
            session.execute(update(model).where(model.district_code == district, model.person_id.in_(chunk),
                                                *extra).values(grid_code=to_grid)
                            .execution_options(synchronize_session="fetch"))



