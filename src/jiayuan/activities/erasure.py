"""Activities' part of erasing a person (registry ERASE_HOOKS): their registrations — made for them by staff, or
under their volunteer account — keep no name. The registrations stay (with their status and check-in), so that
the attendance figures still add up."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jiayuan.activities.models import Registration
from jiayuan.registry.service import ANONYMIZED_NAME, Erasure
from jiayuan.volunteers import service as volunteers


def erase_person(session: Session, erasure: Erasure) -> int:
    district = erasure.district_code
    account = volunteers.account_of_person(session, district, erasure.person_id)
    whose = Registration.person_id == erasure.person_id
    if account is not None:
        whose = or_(whose, Registration.user_id == account)
    rows = list(session.scalars(select(Registration).where(Registration.district_code == district, whose)))
    for registration in rows:
        registration.name = ANONYMIZED_NAME
    session.flush()
    return len(rows)
