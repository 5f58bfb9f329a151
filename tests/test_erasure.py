"""Erasure that erases (issue 12, item 8): anonymising a person in the registry blanks their data in every domain that
holds some, through the hook each domain registers, in the anonymisation's transaction. Domain by domain: a person
with data there, anonymised by the district administrator; then none of their name, phone or ID number is left in
that domain's rows (read back through the models, so that encrypted columns are read in clear), and the rows that
figures count are all still there."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry, User
from jiayuan.activities import service as activities
from jiayuan.activities.models import Registration
from jiayuan.care import profiles, visits
from jiayuan.care.models import CareProfile, EmergencyContact, Pairing, Visit
from jiayuan.cases.models import Case, CaseEvent
from jiayuan.charity import points as charity_points
from jiayuan.charity.models import PointsEntry
from jiayuan.kit.db import utcnow
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.models import Person, PersonMove, PersonTag
from jiayuan.registry.service import ERASE_HOOKS, households, people
from jiayuan.services.orders.models import OrderEvent, ServiceOrder
from jiayuan.services.projects import service as projects
from jiayuan.services.projects.models import ProjectBeneficiary
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.models import HoursEntry, Volunteer
from tests.care.helpers import id_number, make_volunteer, paired, principal
from tests.cases.helpers import act, point_in
from tests.charity.helpers import world
from tests.personas import COMMUNITY, GRID_A, GRID_B
from tests.services.helpers import make_provider, place, quiet_other_providers

NAME, PHONE = "甄拭除", "13912345678"
SPACED = "139 1234 5678"
REASON = "本人依法提出删除请求"


class Subject:
    """The person to be erased, with their ID number (and its spaced-out form, as people type it)."""

    def __init__(self, session: Session) -> None:
        self.id_number = id_number("19500305")
        staff = principal(session, "community")
        self.person = people.create_person(session, staff, {
            "name": NAME, "grid_code": GRID_A, "phone": PHONE, "id_number": self.id_number,
            "notes": f"住文山路 12 号，电话 {PHONE}"})
        people.add_tag(session, staff, self.person.id, "living_alone", starts_on=date(2020, 1, 1))
        self.needles = (NAME, PHONE, self.id_number, self.id_number[:6] + self.id_number[6:14])

    def leaks(self, session: Session, models: Iterable[type]) -> list[str]:
        """Every column value of `models`' rows in the district that still holds the person's name, phone or ID
        number (digits compared without separators, so that 139 1234 5678 counts too)."""
        session.expire_all()
        found = []
        for model in models:
            for row in session.scalars(select(model)):
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                    digits = re.sub(r"\D", "", text)
                    for needle in self.needles:
                        if needle in text or (needle.isdigit() and needle in digits and len(needle) >= 11):
                            found.append(f"{model.__tablename__}.{column.key}: {needle}")
        return found


@pytest.fixture
def subject(session: Session) -> Subject:
    return Subject(session)


def counts(session: Session, models: Iterable[type]) -> dict[str, int]:
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in models}


def anonymize(api: Any, subject: Subject) -> dict:
    r = api("admin").post(f"/api/v1/registry/people/{subject.person.id}/anonymize", json={"reason": REASON})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_domain_that_holds_personal_data_registers_an_eraser(client) -> None:  # noqa: ANN001 - the app
    assert {h.__module__ for h in ERASE_HOOKS} == {
        "jiayuan.cases.erasure", "jiayuan.services.erasure", "jiayuan.volunteers.erasure", "jiayuan.care.erasure",
        "jiayuan.charity.erasure", "jiayuan.activities.erasure"}


def test_registry_row_tags_and_moves_keep_nothing_of_the_person(api, session: Session, subject: Subject) -> None:
    staff = principal(session, "community")
    people.move_person(session, staff, subject.person.id, GRID_B, note=f"搬去女儿家，电话 {PHONE}")
    models = (Person, PersonTag, PersonMove)
    before = counts(session, models)
    assert subject.leaks(session, models)
    body = anonymize(api, subject)
    assert body["name"] == "已匿名" and body["anonymized_at"]
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    person = session.get(Person, (subject.person.district_code, subject.person.id))
    assert person.birth_date == date(1950, 1, 1) and person.room_id is None  # the year, for age groups
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "person_anonymized")).one()
    assert audit.detail["erased"]["registry"] == 3 and audit.detail["reason"] == REASON


def test_care_profile_notes_contacts_visits_and_their_code_messages(api, session: Session, subject: Subject,
                                                                    client) -> None:  # noqa: ANN001
    staff = principal(session, "community")
    profile = profiles.open_profile(session, staff, subject.person.id, notes=f"{NAME}有高血压，女儿电话 {SPACED}",
                                    contacts=[{"name": "甄女儿", "phone": "13700001111", "relation": "女儿"}])
    volunteer = make_volunteer(session, username=f"v{uuid.uuid4().hex[:8]}")
    pairing = paired(session, profile, volunteer, date.today() - timedelta(days=10))
    logged = visits.log_visit(session, staff, {
        "person_id": subject.person.id, "volunteer_id": volunteer.id, "kind": "health", "duration_minutes": 30,
        "notes": f"{NAME}血压 150，身份证 {subject.id_number}", "lat": 27.1, "lon": 114.98})
    old_card = profile.card_token
    profiles.end_pairing(session, staff, pairing.id, reason=f"{NAME}住院，联系 {PHONE}")
    subject.needles += ("甄女儿", "13700001111")
    models = (CareProfile, Pairing, Visit, OutboxMessage)
    before = counts(session, models)
    assert subject.leaks(session, (*models, EmergencyContact))
    anonymize(api, subject)
    assert subject.leaks(session, (*models, EmergencyContact)) == []
    assert counts(session, models) == before  # every profile, pairing, visit and message still counts
    assert session.scalar(select(func.count()).select_from(EmergencyContact)) == 0
    visit = session.get(Visit, (logged.visit.district_code, logged.visit.id))
    assert (visit.notes, visit.lat, visit.lon, visit.duration_minutes) == (None, None, None, 30)
    assert session.get(CareProfile, (profile.district_code, profile.id)).card_token != old_card
    code_sms = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{visit.id}")).one()
    assert code_sms.status == "failed" and code_sms.secret is None  # not sent to a person who no longer is


def test_cases_they_reported_keep_the_text_without_their_numbers(api, session: Session, subject: Subject) -> None:
    lat, lon = point_in(api, GRID_A)
    r = api("hotline").post("/api/v1/cases", json={
        "category": "1101", "lat": lat, "lon": lon, "address": f"文山路 12 号 {NAME}家门口",
        "description": f"{NAME}来电：垃圾三天没人清，请回电 {SPACED}，身份证 {subject.id_number}",
        "reporter_name": NAME, "reporter_phone": PHONE})
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    act(api, "grid_a", number, "handle", note=f"已清运，已回电 {PHONE}")
    other = api("hotline").post("/api/v1/cases", json={
        "category": "1101", "lat": lat, "lon": lon, "description": "另一位居民反映垃圾",
        "reporter_name": "旁人", "reporter_phone": "13600002222"})
    assert other.status_code == 201
    models = (Case, CaseEvent, OutboxMessage)
    before = counts(session, models)
    assert subject.leaks(session, models)
    anonymize(api, subject)
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    case = session.scalars(select(Case).where(Case.number == number)).one()
    assert (case.reporter_name, case.reporter_phone, case.reporter_phone_index) == (None, None, None)
    assert case.description.startswith("***来电：垃圾三天没人清") and case.lat == lat and case.status == "handled"
    untouched = session.scalars(select(Case).where(Case.number == other.json()["number"])).one()
    assert (untouched.reporter_name, untouched.reporter_phone) == ("旁人", "13600002222")


def test_service_orders_placed_for_them_keep_no_name_phone_or_address(api, session: Session,
                                                                      subject: Subject) -> None:
    quiet_other_providers(session)
    make_provider(session, "拭除水电", items={"0201": 8000}, staff=1)
    order = place(api, "hotline", contact_name=NAME, contact_phone=SPACED, address="文山路 12 号 3 栋 401",
                  notes=f"{NAME}腿脚不便，到了打 {PHONE}")
    other = place(api, "hotline")  # 刘阿姨's, another caller
    staff = principal(session, "community")
    project = projects.create_project(session, staff, name="拭除项目", unit_code=COMMUNITY)
    projects.enrol(session, staff, project.id, subject.person.id, note=f"{NAME}，电话 {PHONE}")
    models = (ServiceOrder, OrderEvent, ProjectBeneficiary, OutboxMessage)
    before = counts(session, models)
    assert subject.leaks(session, models)
    anonymize(api, subject)
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    row = session.scalars(select(ServiceOrder).where(ServiceOrder.number == order["number"])).one()
    assert (row.contact_name, row.contact_phone, row.lat, row.lon) == (None, None, None, None)
    assert row.address == "已匿名" and "3 栋 401" not in (row.notes or "") and row.status == "offered"
    kept = session.scalars(select(ServiceOrder).where(ServiceOrder.number == other["number"])).one()
    assert kept.contact_name == "刘阿姨" and kept.address == "文山路 12 号 3 栋 401"


def test_volunteer_profile_account_and_hours_notes(api, session: Session, subject: Subject) -> None:
    staff = principal(session, "community")
    username = f"zhen{uuid.uuid4().hex[:6]}"
    volunteer = volunteers.create_volunteer(session, staff, {
        "person_id": subject.person.id, "username": username, "password": "volunteer-pass-1",
        "skills": ["理发", "维修"]})
    volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 90, "adjustment", None, None,
                            note=f"补录{NAME}上月服务，联系 {PHONE}", actor=staff)
    models = (Volunteer, HoursEntry, User)
    before = counts(session, models)
    assert subject.leaks(session, models)
    anonymize(api, subject)
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 90  # hours still add up
    row = session.get(Volunteer, (volunteer.district_code, volunteer.id))
    assert row.skills is None and row.active is False
    user = session.get(User, row.user_id)
    assert user.is_active is False and user.username.startswith("erased-") and user.full_name == "已匿名"
    signin = api("admin").client.post("/api/v1/auth/token", data={"username": username,
                                                                  "password": "volunteer-pass-1"})
    assert signin.status_code == 401


def test_activity_registrations_keep_no_name(api, session: Session, subject: Subject) -> None:
    staff = principal(session, "community")
    start = utcnow() + timedelta(days=3)
    activity = activities.create_activity(session, staff, {
        "title": "健康讲座", "organizer": "社区", "place": "活动室", "starts_at": start,
        "ends_at": start + timedelta(hours=2), "capacity": 30})
    activities.register(session, staff, activity.id, person_id=subject.person.id)
    models = (Registration,)
    before = counts(session, models)
    assert subject.leaks(session, models)
    anonymize(api, subject)
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    assert session.scalars(select(Registration.status)).all() == ["registered"]


def test_charity_ledger_notes_of_their_household(api, session: Session, subject: Subject) -> None:
    w = world(session)
    staff = principal(session, "community")
    household = people.create_household(session, staff, GRID_A, number="9000099")
    people.add_member(session, staff, subject.person.id, household.id, "户主", head=True)
    card = households.household_cards(session, household.district_code, [household.id])[household.id]
    account = charity_points.ensure_account(session, w.supermarket, card)
    lot = uuid.uuid4()
    session.add(PointsEntry(district_code=account.district_code, id=lot, lot_id=lot, account_id=account.id,
                            points=40, kind="issue", note=f"{NAME}（{PHONE}）补发"))
    session.flush()
    models = (PointsEntry,)
    before = counts(session, models)
    balance = charity_points.ledger_balance(session, account)
    assert subject.leaks(session, models)
    anonymize(api, subject)
    assert subject.leaks(session, models) == []
    assert counts(session, models) == before
    assert charity_points.ledger_balance(session, account) == balance == 40
