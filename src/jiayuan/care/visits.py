"""Visits (三送): a paired volunteer logs a visit, the person confirms it without a smartphone — a 4-digit code sent
to their phone and read out, or the QR card at their home — or, when they cannot, the grid's worker or the
community's staff approve it. Only then are its minutes credited to the volunteer's hours and the person's
not-visited alert cleared: a visit merely logged counts for nothing (docs/care.md).

A volunteer's visits never overlap, add up to at most `care_visit_day_hours` a local day, and are logged at most
`care_visit_backdate_days` after they happened and never before they have ended. The checks run with the
volunteer's row locked (volunteers.lock_volunteer), so that two visits logged at the same moment cannot both pass."""

from __future__ import annotations

import hmac
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.care.models import VISIT_KINDS, VISIT_STATES, CareProfile, Pairing, Visit, VisitPhoto
from jiayuan.care.policy import is_staff, my_volunteer, require_approver, visible_visits
from jiayuan.care.profiles import (
    active_pairing,
    get_profile,
    person_of,
    resolve_alert,
)
from jiayuan.cases.service import save_photos
from jiayuan.config import Settings
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.storage import remove_if_rolled_back, storage_from_settings
from jiayuan.kit.text import clean_text
from jiayuan.notify.service import SECRET_MARK, queue_message
from jiayuan.registry.models import Person
from jiayuan.volunteers import service as volunteers

MAX_DURATION = 600  # one visit: at most 10 hours
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


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TIMEZONE)


# Visits that count: confirmed by the person or approved by staff.
COUNTED = or_(Visit.confirmed_at.is_not(None), Visit.approved_at.is_not(None))
PENDING = (Visit.confirmed_at.is_(None)) & (Visit.approved_at.is_(None))


def state_of(visit: Visit) -> str:
    """pending (待确认), confirmed (已确认: the person's code or card) or approved (已审核: by staff)."""
    if visit.confirmed_at is not None:
        return "confirmed"
    if visit.approved_at is not None:
        return "approved"
    return "pending"


# --- Reading --------------------------------------------------------------------------------------------


def get_visit(session: Session, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = session.scalar(select(Visit).where(visible_visits(session, principal), Visit.id == visit_id))
    if visit is None:
        raise NotFound("no such visit", field="visit_id")
    return visit


def list_visits(session: Session, principal: Principal, *, profile_id: uuid.UUID | None = None,
                start: datetime | None = None, end: datetime | None = None, confirmed: bool | None = None,
                state: str | None = None, credited_unconfirmed: bool | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[Visit], int]:
    """Visits the caller may see, newest first; (page, total). `state`: pending, confirmed or approved."""
    stmt = select(Visit).where(visible_visits(session, principal))
    if state is not None:
        if state not in VISIT_STATES:
            raise Invalid(f"state must be one of {', '.join(VISIT_STATES)}", field="state", reason="not_a_choice")
        stmt = stmt.where({"pending": PENDING, "confirmed": Visit.confirmed_at.is_not(None),
                           "approved": Visit.approved_at.is_not(None) & Visit.confirmed_at.is_(None)}[state])
    if credited_unconfirmed is not None:
        stmt = stmt.where(Visit.credited_unconfirmed.is_(credited_unconfirmed))
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


def pending_work(session: Session, district: str, volunteer_id: uuid.UUID) -> list[volunteers.PendingWork]:
    """A volunteer's visits waiting for confirmation or approval (and not credited under the old rule), for the
    volunteers' pages beside the ledger (registered in volunteers.service.PENDING_WORK by hooks.py)."""
    rows = session.scalars(select(Visit).where(Visit.district_code == district, Visit.volunteer_id == volunteer_id,
                                               PENDING, Visit.credited_at.is_(None))
                           .order_by(Visit.visited_at.desc()).limit(50))
    return [volunteers.PendingWork("visit", v.visited_at, v.duration_minutes, f"/care/visits/{v.id}") for v in rows]


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


def _when(value: Any, now: datetime, duration: int, backdate_days: int) -> datetime:
    """When the visit began. Without a time, it has just ended (logged as the volunteer leaves). It must have
    ended by now, and begun at most `backdate_days` ago."""
    if value is None:
        return now - timedelta(minutes=duration)
    if not isinstance(value, datetime):
        raise Invalid("not a time", field="visited_at", reason="not_a_time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=TIMEZONE)  # a time typed on a page is local time
    if value + timedelta(minutes=duration) > now + CLOCK_SLACK:
        raise Invalid("a visit cannot be in the future: log it once it is over", field="visited_at",
                      reason="in_future")
    if value < now - timedelta(days=backdate_days):
        raise Invalid(f"a visit more than {backdate_days} days ago can no longer be logged", field="visited_at",
                      reason="too_old", days=backdate_days)
    return value


def _overlap(begin: datetime, minutes: int, lo: datetime, hi: datetime) -> int:
    """Minutes of [begin, begin + minutes) within [lo, hi)."""
    end = begin + timedelta(minutes=minutes)
    return max(0, int((min(end, hi) - max(begin, lo)).total_seconds() // 60))


def _check_time(session: Session, district: str, volunteer_id: uuid.UUID, begin: datetime, minutes: int,
                day_hours: int) -> None:
    """Refuse a visit that overlaps another of the same volunteer (409, visited_at), or that makes one of the
    local days it falls on hold more than `day_hours` of their visits (409, duration_minutes). Every visit logged
    counts here, waiting or not. The caller holds the volunteer's row lock."""
    end = begin + timedelta(minutes=minutes)
    first, last = local_day(begin), local_day(end - timedelta(microseconds=1))
    lo, hi = day_start(first), day_start(last + timedelta(days=1))
    nearby = session.execute(select(Visit.id, Visit.visited_at, Visit.duration_minutes).where(
        Visit.district_code == district, Visit.volunteer_id == volunteer_id,
        Visit.visited_at > min(lo, begin) - timedelta(minutes=MAX_DURATION), Visit.visited_at < max(hi, end))
        .order_by(Visit.visited_at)).all()
    for vid, at, length in nearby:
        if at < end and at + timedelta(minutes=length) > begin:
            raise Conflict("this volunteer has another visit at that time", field="visited_at", reason="overlap",
                           details={"visit_id": str(vid), "visited_at": at.isoformat(), "duration_minutes": length})
    day = first
    while day <= last:
        d_lo, d_hi = day_start(day), day_start(day + timedelta(days=1))
        before = sum(_overlap(at, length, d_lo, d_hi) for _vid, at, length in nearby)
        if before + _overlap(begin, minutes, d_lo, d_hi) > day_hours * 60:
            raise Conflict(f"at most {day_hours} hours of visits a day: {before} minutes are logged on "
                           f"{day.isoformat()} already", field="duration_minutes", reason="day_total",
                           hours=day_hours, logged=before, details={"day": day.isoformat(), "logged_minutes": before})
        day += timedelta(days=1)


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
    """Log a visit for an active pairing (409 otherwise) and send the person a confirmation code. It waits: its
    minutes are credited, and the person's not-visited alert cleared, when it is confirmed or approved."""
    now = now or utcnow()
    settings = settings or _settings()
    pairing, profile = _pairing_for(session, principal, data.get("person_id"), data.get("volunteer_id"))
    kind, duration = _kind(data.get("kind")), _duration(data.get("duration_minutes"))
    visited_at = _when(data.get("visited_at"), now, duration, settings.care_visit_backdate_days)
    if local_day(visited_at + timedelta(minutes=duration)) < pairing.started_on:
        raise Invalid("the visit is before the pairing started", field="visited_at", reason="before_pairing")
    lat, lon = _position(data.get("lat"), data.get("lon"))
    volunteers.lock_volunteer(session, pairing.district_code, pairing.volunteer_id)
    _check_time(session, pairing.district_code, pairing.volunteer_id, visited_at, duration,
                settings.care_visit_day_hours)
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
    if photos:
        attach_photos(session, settings, visit, photos)
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
    # The files go again if the rows do not stay: the savepoint (a page's attempt) or the request rolled back.
    remove_if_rolled_back(session, storage, [k for photo in saved for k in (photo["key"], photo["thumb_key"])])
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


def _not_counted_yet(visit: Visit) -> None:
    if visit.confirmed_at is not None:
        raise Conflict("this visit is already confirmed", field="visit_id", reason="already_confirmed")
    if visit.approved_at is not None:
        raise Conflict("this visit is already approved", field="visit_id", reason="already_approved")


def _confirmable(session: Session, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = get_visit(session, principal, visit_id)
    if not is_staff(principal):
        pairing = session.get(Pairing, (visit.district_code, visit.pairing_id))
        if pairing is None or not pairing.active:
            raise Conflict("this pairing has ended", field="visit_id", reason="pairing_ended")
    _not_counted_yet(visit)
    return visit


def _settle(session: Session, visit: Visit, **values: Any) -> None:
    """Confirm or approve in one statement that only a visit still waiting passes: of a code typed and an
    approval at the same moment, one wins and the other is told the visit is already counted."""
    taken = session.execute(update(Visit).where(Visit.district_code == visit.district_code, Visit.id == visit.id,
                                                PENDING).values(**values)
                            .execution_options(synchronize_session=False))
    session.refresh(visit)
    if not taken.rowcount:
        _not_counted_yet(visit)
        raise Conflict("this visit changed at the same moment; reload", field="visit_id")  # pragma: no cover


def _count(session: Session, principal: Principal, visit: Visit, now: datetime) -> None:
    """What a confirmed or approved visit does: its minutes go to the volunteer's hours (once: the ledger's
    source is the visit, so a visit credited before, when logged under the old rule, is not credited again), and
    the person's not-visited alert clears if this visit is later than the one it counted from."""
    volunteers.credit_hours(session, visit.volunteer_id, visit.district_code, visit.duration_minutes, "service",
                            "visit", visit.id, actor=principal.user_id)
    if visit.credited_at is None:
        visit.credited_at = now
    resolve_alert(session, visit.district_code, visit.person_id, visited_at=visit.visited_at)
    session.flush()


def _confirm(session: Session, principal: Principal, visit: Visit, method: str, now: datetime) -> Visit:
    _settle(session, visit, confirmed_at=now, confirm_method=method)
    _count(session, principal, visit, now)
    accounts.audit_for(session, principal, "care_visit_confirmed", target=str(visit.id), detail={"method": method})
    return visit


def approve_visit(session: Session, principal: Principal, visit_id: uuid.UUID,
                  now: datetime | None = None) -> Visit:
    """Staff vouch for a visit the person could not confirm (no phone, no card at hand): the grid's worker or
    the community's staff (403 for other roles, before any look-up), for a visit in their scope (404 outside
    it), once (409 when it is confirmed or approved already). Credits its minutes as a confirmation does;
    audited."""
    now = now or utcnow()
    require_approver(principal)
    visit = get_visit(session, principal, visit_id)
    _not_counted_yet(visit)
    _settle(session, visit, approved_at=now, approved_by=principal.user_id)
    _count(session, principal, visit, now)
    accounts.audit_for(session, principal, "care_visit_approved", target=str(visit.id),
                       detail={"volunteer_id": str(visit.volunteer_id), "minutes": visit.duration_minutes})
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
        Visit.district_code == visit.district_code, Visit.id == visit.id, PENDING,
        Visit.confirm_attempts < MAX_CODE_TRIES).values(confirm_attempts=Visit.confirm_attempts + 1)
        .execution_options(synchronize_session=False))
    session.refresh(visit)
    if not taken.rowcount:
        _not_counted_yet(visit)
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
    # The stored token is read as a typed one too: cards printed before the Crockford alphabet (32 hex characters,
    # lower case) still confirm.
    if profile is None or not hmac.compare_digest(token.encode(), card_token_of(profile.card_token).encode()):
        accounts.audit_for(session, principal, "care_visit_card_wrong", target=str(visit.id))
        raise Invalid("this is not the card of the person visited", field="card_token")
    return _confirm(session, principal, visit, "qr", now)


def code_state(visit: Visit, now: datetime | None = None) -> str:
    """confirmed, approved, none (no code sent), expired, locked or waiting: what the confirm page offers."""
    now = now or utcnow()
    if visit.confirmed_at is not None:
        return "confirmed"
    if visit.approved_at is not None:
        return "approved"
    if visit.confirm_code_hash is None:
        return "none"
    if now > visit.created_at + CODE_TTL:
        return "expired"
    if visit.confirm_attempts >= MAX_CODE_TRIES:
        return "locked"
    return "waiting"
