"""Erasure (匿名化) of a person in every domain that holds data about them, in the anonymisation's transaction.

The registry lies left of the domains that keep rows about a person (cases, services, volunteers, care, charity,
activities), so it cannot call them: each registers an eraser in ERASE_HOOKS at start-up (jiayuan/hooks.py), the way
care registers its move hook. An eraser is given who the person was (`Erasure`: name, phone and ID number as they
were, before the registry blanks them), finds its rows by the person's id or by the blind index of their phone, and
blanks or masks what identifies them. Rows are never deleted where a figure counts them: a case stays a case, a
visit a visit; only who it was about goes. Each eraser returns how many of its rows it changed (for the audit).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.kit.db import utcnow
from jiayuan.kit.redact import redact
from jiayuan.notify import service as notify
from jiayuan.registry.models import Person, PersonMove, PersonTag

ANONYMIZED_NAME = "已匿名"


@dataclass(frozen=True)
class Erasure:
    """Who is being erased, as they were a moment before: what each domain looks its rows up by, and what it
    masks in free text written about them."""

    district_code: str
    person_id: uuid.UUID
    household_id: uuid.UUID | None
    name: str
    phone: str | None  # 11 digits, as the registry keeps it
    id_number: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def redact(self, text: str | None) -> str | None:
        """Free text with this person's name, and every phone and ID number, masked."""
        return redact(text, self.names)

    def redact_rows(self, rows: Iterable[object], attribute: str = "note") -> int:
        """Redact `attribute` of each row (a ledger's notes, say); returns how many rows it changed."""
        changed = 0
        for row in rows:
            before = getattr(row, attribute)
            after = self.redact(before)
            if after != before:
                setattr(row, attribute, after)
                changed += 1
        return changed


# Called as hook(session, erasure) -> rows changed, in the anonymisation's transaction, before the registry blanks
# the person's own row. Registered by jiayuan/hooks.py, once each.
ERASE_HOOKS: list[Callable[[Session, Erasure], int]] = []


def erase(session: Session, person: Person) -> dict[str, int]:
    """Blank the person's data here and in every domain; returns the rows changed, by domain."""
    erasure = Erasure(district_code=person.district_code, person_id=person.id, household_id=person.household_id,
                      name=person.name, phone=person.phone, id_number=person.id_number)
    changed: dict[str, int] = {}
    for hook in ERASE_HOOKS:
        domain = hook.__module__.split(".")[1]
        changed[domain] = changed.get(domain, 0) + hook(session, erasure)
    if erasure.phone:
        changed["notify"] = notify.forget_recipient(session, erasure.district_code, erasure.phone, erasure.names)
    changed["registry"] = _erase_registry(session, person)
    return changed


def _erase_registry(session: Session, person: Person) -> int:
    """The person's own row: no name, number, phone, notes or room; the birth date kept to its year (age groups
    need no more, and a full date next to sex and grid singles people out). Tags and moves stay, without their
    notes and rooms, so that counts still add up."""
    person.name, person.name_initials = ANONYMIZED_NAME, None
    person.id_number = person.id_number_index = person.phone = person.phone_index = None
    person.notes = None
    person.room_id = None
    if person.birth_date is not None:
        person.birth_date = person.birth_date.replace(month=1, day=1)
    person.anonymized_at = utcnow()
    tags = session.execute(update(PersonTag).where(PersonTag.district_code == person.district_code,
                                                   PersonTag.person_id == person.id).values(note=None))
    moves = session.execute(update(PersonMove).where(PersonMove.district_code == person.district_code,
                                                     PersonMove.person_id == person.id)
                            .values(note=None, from_room_id=None, to_room_id=None))
    session.flush()
    return 1 + (tags.rowcount or 0) + (moves.rowcount or 0)  # type: ignore[attr-defined]
