"""Visits (三送): a paired volunteer logs a visit, its minutes are credited to their hours, and the person confirms
it without a smartphone — a 4-digit code sent to their phone and read out, or the QR card at their home."""

from __future__ import annotations

import hmac
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.care.models import VISIT_KINDS, CareProfile, Pairing, Visit, VisitPhoto
from jiayuan.care.policy import is_staff, my_volunteer, visible_visits
from jiayuan.care.profiles import (
    active_pairing,
    get_profile,
    person_of,
    resolve_alert,
)
from jiayuan.cases.service import discard_photos, save_photos
from jiayuan.config import Settings
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.storage import storage_from_settings
from jiayuan.kit.text import clean_text
from jiayuan.notify.service import SECRET_MARK, queue_message
from jiayuan.registry.models import Person
from jiayuan.volunteers import service as volunteers

MAX_DURATION = 600
MAX_VISIT_PHOTOS = 3
NOTES_MAX = 2000
CODE_DIGITS = 4
CODE_TTL = timedelta(hours=24)
MAX_CODE_TRIES = 5
# A phone's clock a little ahead of the server's is not a visit in the future.
CLOCK_SLACK = timedelta(minutes=5)
CODE_CONTEXT = "care_visits.confirm_code"
CODE_SMS = ("【家园】{name}您好，志愿者上门探访的确认码是 {code}，请读给来访的志愿者听。"
            "24小时内有效，请勿告诉其他人。")


def code_hash(visit_id: uuid.UUID, code: str) -> str:
    """A keyed hash of the code, bound to its visit: 10,000 codes could be tried against a plain hash in a moment,
    not against an HMAC whose key is not in the database."""
    return blind_index(f"{visit_id}:{code}", context=CODE_CONTEXT)


def local_day(moment: datetime) -> Any:
    return moment.astimezone(TIMEZONE).date()


# --- Reading --------------------------------------------------------------------------------------------


def get_visit(session: Session, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = session.scalar(select(Visit).where(visible_visits(session, principal), Visit.id == visit_id))
    if visit is None:
        raise NotFound("no such visit", field="visit_id")
    return visit


def list_visits(session: Session, principal: Principal, *, profile_id: uuid.UUID | None = None,
                start: datetime | None = None, end: datetime | None = None, confirmed: bool | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[Visit], int]:
    """Visits the caller may see, newest first; (page, total)."""
    stmt = select(Visit).where(visible_visits(session, principal))
    if profile_id is not None:
        profile = get_profile(session, principal, profile_id)
        stmt = stmt.where(Visit.district_code == profile.district_code, Visit.person_id == profile.person_id)
    if start is not None:
        stmt = stmt.where(Visit.visited_at >= start)
    if end is not None:
        stmt = stmt.where(Visit.visited_at < end)
    if confirmed is not None:
        stmt = stmt.where(Visit.confirmed_at.is_not(None) if confirmed else Visit.confirmed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(Visit.visited_at.desc(), Visit.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def photos_of(session: Session, visits: list[Visit]) -> dict[uuid.UUID, list[VisitPhoto]]:
    found: dict[uuid.UUID, list[VisitPhoto]] = {v.id: [] for v in visits}
    if not visits:
        return found
    for photo in session.scalars(select(VisitPhoto).where(
            VisitPhoto.district_code.in_({v.district_code for v in visits}),
            VisitPhoto.visit_id.in_([v.id for v in visits])).order_by(VisitPhoto.created_at, VisitPhoto.id)):
        found[photo.visit_id].append(photo)
    return found


def get_photo(session: Session, principal: Principal, visit_id: uuid.UUID, photo_id: uuid.UUID) -> VisitPhoto:
    visit = get_visit(session, principal, visit_id)
    photo = session.scalar(select(VisitPhoto).where(VisitPhoto.district_code == visit.district_code,
                                                    VisitPhoto.visit_id == visit.id, VisitPhoto.id == photo_id))
    if photo is None:
        raise NotFound("no such photo", field="photo_id")
    return photo


def names_of_people(session: Session, visits: list[Any]) -> dict[uuid.UUID, str]:
    """Names of the people visited (the registry's table, read for names only: the caller may see the visits)."""
    ids = {v.person_id for v in visits}
    if not ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(
        Person.district_code.in_({v.district_code for v in visits}), Person.id.in_(ids))).all())


# --- Logging ------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value not in VISIT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(VISIT_KINDS)}", field="kind")
    return value


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DURATION:
        raise Invalid(f"duration must be a whole number of minutes from 1 to {MAX_DURATION}",
                      field="duration_minutes")
    return value


def _when(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, datetime):
        raise Invalid("not a time", field="visited_at")
    if value.tzinfo is None:
        value = value.replace(tzinfo=TIMEZONE)  # a time typed on a page is local time
    if value > now + CLOCK_SLACK:
        raise Invalid("a visit cannot be in the future", field="visited_at")
    return value


def _position(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    if lat is None and lon is None:
        return None, None
    if lat is None or lon is None:
        raise Invalid("give both latitude and longitude, or neither", field="lat" if lat is None else "lon")
    if not -90 <= float(lat) <= 90:
        raise Invalid("latitude is from -90 to 90", field="lat")
    if not -180 <= float(lon) <= 180:
        raise Invalid("longitude is from -180 to 180", field="lon")
    return float(lat), float(lon)


def _pairing_for(session: Session, principal: Principal, person_id: Any,
                 volunteer_id: Any) -> tuple[Pairing, CareProfile | None]:
    """The active pairing the visit belongs to: the caller's own as a volunteer, the named volunteer's as staff."""
    if not isinstance(person_id, uuid.UUID):
        raise Invalid("required: the person visited", field="person_id")
    if is_staff(principal):
        if not isinstance(volunteer_id, uuid.UUID):
            raise Invalid("required: the volunteer who visited", field="volunteer_id")
        profile = session.scalar(select(CareProfile).where(principal.scope.where(CareProfile),
                                                           CareProfile.person_id == person_id))
        if profile is None:
            raise NotFound("no such person in care", field="person_id")
        district = profile.district_code
    else:
        volunteer = my_volunteer(session, principal)
        if volunteer_id is not None and volunteer_id != volunteer.id:
            raise Forbidden("a volunteer logs their own visits", field="volunteer_id")
        volunteer_id, district, profile = volunteer.id, volunteer.district_code, None
    pairing = active_pairing(session, district, volunteer_id, person_id)
    if pairing is None:
        raise Conflict("this volunteer is not paired with this person", field="person_id", reason="not_paired")
    if profile is None:
        profile = session.scalar(select(CareProfile).where(CareProfile.district_code == district,
                                                           CareProfile.person_id == person_id))
    if profile is None or profile.ended_on is not None:
        raise Conflict("care of this person has ended", field="person_id", reason="ended")
    return pairing, profile


@dataclass
class LoggedVisit:
    visit: Visit
    code_sent_to: str | None  # the masked phone the code went to; None when the person has no phone


def log_visit(session: Session, principal: Principal, data: dict[str, Any], *, photos: list[bytes] | None = None,
              settings: Settings | None = None, now: datetime | None = None) -> LoggedVisit:
    """Log a visit for an active pairing (409 otherwise), credit its minutes to the volunteer's hours, send the
    person a confirmation code, and resolve their not-visited alert."""
    now = now or utcnow()
    pairing, profile = _pairing_for(session, principal, data.get("person_id"), data.get("volunteer_id"))
    kind, duration = _kind(data.get("kind")), _duration(data.get("duration_minutes"))
    visited_at = _when(data.get("visited_at"), now)
    if local_day(visited_at) < pairing.started_on:
        raise Invalid("the visit is before the pairing started", field="visited_at")
    lat, lon = _position(data.get("lat"), data.get("lon"))
    visit = Visit(district_code=pairing.district_code, pairing_id=pairing.id, person_id=pairing.person_id,
                  volunteer_id=pairing.volunteer_id, grid_code=profile.grid_code, kind=kind, visited_at=visited_at,
                  duration_minutes=duration, notes=clean_text(data.get("notes"), "notes", NOTES_MAX), lat=lat, lon=lon,
                  confirm_attempts=0, logged_by=principal.user_id, created_at=now)
    session.add(visit)
    session.flush()
    person = person_of(session, principal, profile)
    sent_to = None
    if person.phone:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        visit.confirm_code_hash = code_hash(visit.id, code)
        # The code travels as the message's secret: encrypted, put into the text when sent, then dropped.
        queue_message(session, district_code=visit.district_code, channel="sms", recipient=person.phone,
                      body=CODE_SMS.format(name=person.name, code=SECRET_MARK), secret=code,
                      ref=f"care-visit/{visit.id}")
        sent_to = mask_phone(person.phone)
    volunteers.credit_hours(session, visit.volunteer_id, visit.district_code, duration, "service", "visit",
                            visit.id, actor=principal.user_id)
    resolve_alert(session, visit.district_code, visit.person_id)
    if photos:
        attach_photos(session, settings or _settings(), visit, photos)
    session.flush()
    return LoggedVisit(visit, sent_to)


def _settings() -> Settings:
    from jiayuan.config import get_settings

    return get_settings()


def attach_photos(session: Session, settings: Settings, visit: Visit, photos: list[bytes]) -> list[VisitPhoto]:
    """Store photos of a visit like case photos (checked, EXIF stripped, thumbnail); at most 3 per visit. If the
    transaction does not commit, the stored files are removed again."""
    if not photos:
        return []
    existing = session.scalar(select(func.count()).select_from(VisitPhoto).where(
        VisitPhoto.district_code == visit.district_code, VisitPhoto.visit_id == visit.id)) or 0
    storage = storage_from_settings(settings)
    saved = save_photos(storage, visit.district_code, visit.id, photos, settings.max_photo_bytes,
                        max(MAX_VISIT_PHOTOS - existing, 0), area="care")
    event.listen(session, "after_soft_rollback",
                 lambda _s, tx: discard_photos(storage, saved) if not tx.nested else None, once=True)
    rows = [VisitPhoto(district_code=visit.district_code, visit_id=visit.id, **p) for p in saved]
    session.add_all(rows)
    session.flush()
    return rows


def add_photos(session: Session, principal: Principal, visit_id: uuid.UUID, photos: list[bytes],
               settings: Settings) -> list[VisitPhoto]:
    """Photos added after logging: by the volunteer who made the visit, or staff."""
    visit = get_visit(session, principal, visit_id)
    return attach_photos(session, settings, visit, photos)


# --- Confirmation --------------------------------------------------------------------------------------


def _confirmable(session: Session, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = get_visit(session, principal, visit_id)
    if not is_staff(principal):
        pairing = session.get(Pairing, (visit.district_code, visit.pairing_id))
        if pairing is None or not pairing.active:
            raise Conflict("this pairing has ended", field="visit_id", reason="pairing_ended")
    if visit.confirmed_at is not None:
        raise Conflict("this visit is already confirmed", field="visit_id", reason="already_confirmed")
    return visit


def _confirm(session: Session, principal: Principal, visit: Visit, method: str, now: datetime) -> Visit:
    visit.confirmed_at, visit.confirm_method = now, method
    session.flush()
    accounts.audit_for(session, principal, "care_visit_confirmed", target=str(visit.id), detail={"method": method})
    return visit


@dataclass
class CodeCheck:
    """How a typed code fared. A wrong code is not an exception: its try must be counted, and an exception
    would roll the count back with the request."""

    visit: Visit
    confirmed: bool
    tries_left: int


def confirm_with_code(session: Session, principal: Principal, visit_id: uuid.UUID, code: Any,
                      now: datetime | None = None) -> CodeCheck:
    """Check the code the person read out. Expired (24 h) or locked (5 wrong tries) is 409; a wrong code counts a
    try and comes back with the tries left."""
    now = now or utcnow()
    visit = _confirmable(session, principal, visit_id)
    text = unicodedata.normalize("NFKC", code).strip() if isinstance(code, str) else ""
    if len(text) != CODE_DIGITS or not text.isdigit():
        raise Invalid(f"the code has {CODE_DIGITS} digits", field="code")
    if visit.confirm_code_hash is None:
        raise Conflict("no code was sent for this visit (the person has no phone): use their card",
                       field="code", reason="no_code")
    if now > visit.created_at + CODE_TTL:
        raise Conflict("the code has expired (24 hours): use the person's card", field="code", reason="expired")
    if visit.confirm_attempts >= MAX_CODE_TRIES:
        raise Conflict("too many wrong codes: the code is locked; use the person's card", field="code",
                       reason="locked")
    # Take a try in one statement: two wrong codes typed at the same moment cannot both take the last try.
    taken = session.execute(update(Visit).where(
        Visit.district_code == visit.district_code, Visit.id == visit.id, Visit.confirmed_at.is_(None),
        Visit.confirm_attempts < MAX_CODE_TRIES).values(confirm_attempts=Visit.confirm_attempts + 1)
        .execution_options(synchronize_session=False))
    session.refresh(visit)
    if not taken.rowcount:
        if visit.confirmed_at is not None:
            raise Conflict("this visit is already confirmed", field="visit_id", reason="already_confirmed")
        raise Conflict("too many wrong codes: the code is locked; use the person's card", field="code",
                       reason="locked")
    tries_left = MAX_CODE_TRIES - visit.confirm_attempts
    if hmac.compare_digest(code_hash(visit.id, text), visit.confirm_code_hash):
        return CodeCheck(_confirm(session, principal, visit, "code", now), True, tries_left)
    accounts.audit_for(session, principal, "care_visit_code_wrong", target=str(visit.id),
                       detail={"tries_left": tries_left})
    return CodeCheck(visit, False, tries_left)


def card_token_of(value: Any) -> str:
    """The token as scanned or typed: spaces and dashes (the card prints it in groups) dropped, any case, and the
    letters a hand may type for the digits that look like them (O for 0, I or L for 1) read as those digits."""
    text = unicodedata.normalize("NFKC", value) if isinstance(value, str) else ""
    text = "".join(text.split()).replace("-", "").upper()
    return text.translate(str.maketrans("OIL", "011"))


def confirm_with_card(session: Session, principal: Principal, visit_id: uuid.UUID, token: Any,
                      now: datetime | None = None) -> Visit:
    """Confirm by the person's QR card (scanned, or its token typed): it must be the visited person's card."""
    now = now or utcnow()
    visit = _confirmable(session, principal, visit_id)
    token = card_token_of(token)
    if not token:
        raise Invalid("scan the card or type the token printed on it", field="card_token")
    profile = session.scalar(select(CareProfile).where(CareProfile.district_code == visit.district_code,
                                                       CareProfile.person_id == visit.person_id))
    if profile is None or not hmac.compare_digest(token.encode(), profile.card_token.encode()):
        accounts.audit_for(session, principal, "care_visit_card_wrong", target=str(visit.id))
        raise Invalid("this is not the card of the person visited", field="card_token")
    return _confirm(session, principal, visit, "qr", now)


def code_state(visit: Visit, now: datetime | None = None) -> str:
    """confirmed, none (no code sent), expired, locked or waiting: what the confirm page offers."""
    now = now or utcnow()
    if visit.confirmed_at is not None:
        return "confirmed"
    if visit.confirm_code_hash is None:
        return "none"
    if now > visit.created_at + CODE_TTL:
        return "expired"
    if visit.confirm_attempts >= MAX_CODE_TRIES:
        return "locked"
    return "waiting"
