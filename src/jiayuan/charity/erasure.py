"""Charity's part of erasing a person (registry ERASE_HOOKS). A points account belongs to a household, not to one
of its members, and redemptions keep no name or phone of whoever came to the counter: what is left of the person
here is what staff wrote in the notes of their household's points ledger, masked (their name, every phone and ID
number). The ledger's entries stay, so that every balance and the reconciliation still add up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.charity.models import Account, PointsEntry
from jiayuan.registry.service import Erasure


def erase_person(session: Session, erasure: Erasure) -> int:
    if erasure.household_id is None:
        return 0
    accounts = select(Account.id).where(Account.district_code == erasure.district_code,
                                        Account.household_id == erasure.household_id)
    changed = erasure.redact_rows(session.scalars(select(PointsEntry).where(
        PointsEntry.district_code == erasure.district_code, PointsEntry.account_id.in_(accounts),
        PointsEntry.note.is_not(None))))
    session.flush()
    return changed
