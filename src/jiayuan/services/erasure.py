"""Services' part of erasing a person (registry ERASE_HOOKS): the service orders placed for them — found by the
blind index of their phone — lose the contact's name and phone, the address and its position (their home); the
notes, the rating comment, the cancel reason and the timeline keep their text with the person's name and every
phone and ID number masked. The notes kept on them as a special project's beneficiary go. Orders and
beneficiaries stay, so that the providers' and projects' figures still add up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.registry.service import ANONYMIZED_NAME, Erasure
from jiayuan.services.orders.intake import phone_key
from jiayuan.services.orders.models import OrderEvent, ServiceOrder
from jiayuan.services.projects.models import ProjectBeneficiary


def erase_person(session: Session, erasure: Erasure) -> int:
    district = erasure.district_code
    changed = 0
    for beneficiary in session.scalars(select(ProjectBeneficiary).where(
            ProjectBeneficiary.district_code == district, ProjectBeneficiary.person_id == erasure.person_id)):
        beneficiary.note = None
        changed += 1
    if not erasure.phone:
        session.flush()
        return changed
    orders = list(session.scalars(select(ServiceOrder).where(
        ServiceOrder.district_code == district, ServiceOrder.contact_phone_index == phone_key(erasure.phone))))
    for order in orders:
        order.contact_name = order.contact_phone = order.contact_phone_index = None
        order.address, order.lat, order.lon = ANONYMIZED_NAME, None, None
        order.notes = erasure.redact(order.notes)
        order.rating_comment = erasure.redact(order.rating_comment)
        order.cancel_reason = erasure.redact(order.cancel_reason)
    changed += len(orders)
    if orders:
        for event in session.scalars(select(OrderEvent).where(OrderEvent.district_code == district,
                                                              OrderEvent.order_id.in_([o.id for o in orders]))):
            event.note = erasure.redact(event.note)
            event.actor_name = erasure.redact(event.actor_name) or ""
            changed += 1
    session.flush()
    return changed
