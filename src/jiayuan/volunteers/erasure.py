"""Volunteers' part of erasing a person (registry ERASE_HOOKS): their volunteer profile keeps no skills or
availability and stops being active, their account is closed and keeps neither name nor user name, and the notes of
their hours ledger are masked. The profile, its hours and honours stay, so that the hours still add up."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.registry.service import ANONYMIZED_NAME, Erasure
from jiayuan.volunteers.models import HoursEntry, Volunteer


def erase_person(session: Session, erasure: Erasure) -> int:
    volunteer = session.scalar(select(Volunteer).where(Volunteer.district_code == erasure.district_code,
                                                       Volunteer.person_id == erasure.person_id))
    if volunteer is None:
        return 0
    volunteer.skills = volunteer.availability = None
    volunteer.active = False
    changed = 1
    if volunteer.user_id is not None and accounts.anonymize_user(session, volunteer.user_id, ANONYMIZED_NAME):
        changed += 1
    changed += erasure.redact_rows(session.scalars(select(HoursEntry).where(
        HoursEntry.district_code == erasure.district_code, HoursEntry.volunteer_id == volunteer.id,
        HoursEntry.note.is_not(None))))
    session.flush()
    return changed


def account_of_person(session: Session, district: str, person_id: uuid.UUID) -> uuid.UUID | None:
    """The account a registry person signs in with as a volunteer, if they have one: where other domains find
    the rows a person made under their account (activity registrations)."""
    return session.scalar(select(Volunteer.user_id).where(Volunteer.district_code == district,
                                                          Volunteer.person_id == person_id))
