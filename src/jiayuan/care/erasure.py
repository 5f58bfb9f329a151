"""Care's part of erasing a person (registry ERASE_HOOKS): their profile's notes and card, their emergency
contacts, the notes, places and photos of their visits, and the reasons their pairings ended. Profiles, pairings,
visits, alerts, enrolments and attendance stay, so that every figure of care still adds up."""

from __future__ import annotations

import logging

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from jiayuan.care.models import CareProfile, EmergencyContact, Pairing, Visit, VisitPhoto
from jiayuan.care.profiles import new_card_token
from jiayuan.config import get_settings
from jiayuan.kit.storage import storage_from_settings
from jiayuan.registry.service import Erasure

log = logging.getLogger("jiayuan.care")


def erase_person(session: Session, erasure: Erasure) -> int:
    district, person_id = erasure.district_code, erasure.person_id
    changed = 0
    profiles = list(session.scalars(select(CareProfile).where(CareProfile.district_code == district,
                                                              CareProfile.person_id == person_id)))
    for profile in profiles:
        # A new card: the printed one no longer confirms anything for anyone.
        profile.notes, profile.card_token = None, new_card_token()
        changed += 1
    if profiles:
        gone = session.execute(delete(EmergencyContact).where(
            EmergencyContact.district_code == district,
            EmergencyContact.profile_id.in_([p.id for p in profiles])))
        changed += gone.rowcount or 0  # type: ignore[attr-defined]
    for pairing in session.scalars(select(Pairing).where(Pairing.district_code == district,
                                                         Pairing.person_id == person_id)):
        pairing.end_reason = erasure.redact(pairing.end_reason)
        changed += 1
    visits = list(session.scalars(select(Visit).where(Visit.district_code == district,
                                                      Visit.person_id == person_id)))
    for visit in visits:
        # Where the person lives (the visit's position) and what the volunteer wrote about them.
        visit.notes, visit.lat, visit.lon, visit.confirm_code_hash = None, None, None, None
        changed += 1
    if visits:
        photos = list(session.scalars(select(VisitPhoto).where(VisitPhoto.district_code == district,
                                                               VisitPhoto.visit_id.in_([v.id for v in visits]))))
        for photo in photos:
            session.delete(photo)
        changed += len(photos)
        _remove_files_after_commit(session, [k for p in photos for k in (p.key, p.thumb_key)])
    session.flush()
    return changed


def _remove_files_after_commit(session: Session, keys: list[str]) -> None:
    """The photos' files go once the erasure has committed (a rolled-back one leaves them where they were)."""
    if not keys:
        return

    def remove(_session: Session) -> None:
        storage = storage_from_settings(get_settings())
        for key in keys:
            try:
                storage.delete(key)
            except Exception as exc:  # noqa: BLE001 - the rows are gone; a file left behind is logged, not fatal
                log.warning("erasure: could not remove a visit photo (%s)", type(exc).__name__)

    event.listen(session, "after_commit", remove, once=True)
