"""Cases' part of erasing a person (registry ERASE_HOOKS): the cases they reported — found by the blind index of
their phone — lose the reporter's name and phone; what was written stays, with the person's name and every phone
and ID number in it masked (the description, the address, the rating comment, the timeline's notes). The cases
themselves stay, so that every figure of the loop still adds up; where the problem is stays too."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.cases.models import Case, CaseEvent, phone_key
from jiayuan.kit.redact import redact_values
from jiayuan.registry.service import Erasure


def erase_person(session: Session, erasure: Erasure) -> int:
    if not erasure.phone:
        return 0
    cases = list(session.scalars(select(Case).where(Case.district_code == erasure.district_code,
                                                    Case.reporter_phone_index == phone_key(erasure.phone))))
    for case in cases:
        case.reporter_name = case.reporter_phone = case.reporter_phone_index = None
        case.description = erasure.redact(case.description) or ""
        case.address = erasure.redact(case.address)
        case.rating_comment = erasure.redact(case.rating_comment)
        if case.attributes:
            case.attributes = redact_values(case.attributes, erasure.names)  # type: ignore[assignment]
    changed = len(cases)
    if cases:
        for event in session.scalars(select(CaseEvent).where(CaseEvent.district_code == erasure.district_code,
                                                             CaseEvent.case_id.in_([c.id for c in cases]))):
            event.note = erasure.redact(event.note)
            event.actor_name = erasure.redact(event.actor_name) or ""
            if event.data:
                event.data = redact_values(event.data, erasure.names)  # type: ignore[assignment]
            changed += 1
    session.flush()
    return changed
