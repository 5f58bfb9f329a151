"""Opportunities and sign-ups: slots then the waitlist, promotion on cancellation, the last slot raced by two
volunteers on the real database, check-in from 30 minutes before the start, check-out crediting once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.kit.db import Database, is_postgres
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.waitlist import Waitlist
from jiayuan.notify.models import OutboxMessage
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers import service
from jiayuan.volunteers.models import HoursEntry, Signup
from tests.personas import COMMUNITY
from tests.volunteers.helpers import (
    DISTRICT,
    later,
    make_volunteer,
    principal,
    remove_opportunities,
    remove_volunteers,
    user_principal,
)


def opportunity(session: Session, slots: int = 2, starts_in: float = 24, hours: float = 2, **data):
    start = later(starts_in)
    return opps.create_opportunity(session, principal(session, "community"), {
        "unit_code": COMMUNITY, "title": "敬老院陪伴", "place": "社区敬老院", "team_code": "orange",
        "starts_at": start, "ends_at": start + timedelta(hours=hours), "slots": slots, **data})


def as_volunteer(session: Session, volunteer):
    return user_principal(session, session.get(User, volunteer.user_id).username)


def test_slots_then_waitlist_and_a_cancellation_moves_the_first_up(session: Session) -> None:
    o = opportunity(session, slots=2)
    staff = principal(session, "community")
    vols = [make_volunteer(session, username=f"v{i}-{uuid.uuid4().hex[:6]}") for i in range(4)]
    ups = [opps.sign_up(session, as_volunteer(session, v), o.id) for v in vols[:3]]
    ups.append(opps.sign_up(session, staff, o.id, vols[3].id))  # staff sign a volunteer up
    assert [s.status for s in ups] == ["signed_up", "signed_up", "waitlisted", "waitlisted"]
    assert opps.counts_of(session, [o])[o.id].taken == 2
    with pytest.raises(Conflict):
        opps.sign_up(session, as_volunteer(session, vols[0]), o.id)
    opps.cancel_signup(session, as_volunteer(session, vols[1]), ups[1].id)
    session.refresh(ups[2])
    session.refresh(ups[3])
    assert (ups[2].status, ups[3].status) == ("signed_up", "waitlisted")
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == vols[2].user_id)).all()
    assert len(told) == 1 and "候补" in told[0].body
    # Signing up again after cancelling goes to the end of the waitlist.
    again = opps.sign_up(session, as_volunteer(session, vols[1]), o.id)
    assert again.id == ups[1].id and again.status == "waitlisted"
    assert [s.volunteer_id for s in opps.signups_of(session, o) if s.status == "waitlisted"] == [
        vols[3].id, vols[1].id]
    # More slots move the waitlist up, in order.
    opps.update_opportunity(session, staff, o.id, {"slots": 3})
    session.refresh(ups[3])
    assert ups[3].status == "signed_up"


def test_a_volunteer_cannot_act_for_another(session: Session) -> None:
    o = opportunity(session)
    a, b = (make_volunteer(session, username=f"w{i}-{uuid.uuid4().hex[:6]}") for i in range(2))
    up = opps.sign_up(session, as_volunteer(session, a), o.id)
    with pytest.raises(NotFound):
        opps.cancel_signup(session, as_volunteer(session, b), up.id)
    with pytest.raises(NotFound):
        opps.sign_up(session, as_volunteer(session, b), o.id, a.id)
    with pytest.raises(Forbidden):
        opps.create_opportunity(session, as_volunteer(session, a), {})


@pytest.mark.parametrize(("change", "field"), [
    ({"slots": 0}, "slots"), ({"slots": "3"}, "slots"), ({"title": ""}, "title"),
    ({"ends_at": "later"}, "ends_at"), ({"team_code": "pink"}, "team_code"),
])
def test_bad_opportunities_name_the_field(session: Session, change: dict, field: str) -> None:
    data = {"unit_code": COMMUNITY, "title": "x", "starts_at": later(1), "ends_at": later(2), "slots": 1, **change}
    with pytest.raises(Invalid) as exc:
        opps.create_opportunity(session, principal(session, "community"), data)
    assert exc.value.field == field


def test_the_end_must_be_after_the_start(session: Session) -> None:
    with pytest.raises(Invalid) as exc:
        opportunity(session, hours=0)
    assert exc.value.field == "ends_at"


def test_check_in_opens_30_minutes_before_and_check_out_credits_once(session: Session) -> None:
    o = opportunity(session, starts_in=2, hours=2)
    v = make_volunteer(session, username=f"c-{uuid.uuid4().hex[:6]}")
    me = as_volunteer(session, v)
    up = opps.sign_up(session, me, o.id)
    with pytest.raises(Conflict) as exc:
        opps.check_in(session, me, up.id, now=o.starts_at - timedelta(minutes=31))
    assert exc.value.field == "checked_in_at"
    opps.check_in(session, me, up.id, now=o.starts_at - timedelta(minutes=30))
    # Checked out after 3 hours: the credit is capped at the opportunity's 2 hours.
    up, entry = opps.check_out(session, me, up.id, now=o.starts_at + timedelta(hours=2, minutes=30))
    assert entry is not None and entry.minutes == 120 and entry.source_type == "signup"
    again, entry2 = opps.check_out(session, me, up.id, now=o.starts_at + timedelta(hours=3))
    assert entry2.id == entry.id and again.checked_out_at == up.checked_out_at
    assert session.scalar(select(func.count()).select_from(HoursEntry).where(HoursEntry.volunteer_id == v.id)) == 1
    assert service.balance_minutes(session, DISTRICT, v.id) == 120
    with pytest.raises(Conflict):
        opps.cancel_signup(session, me, up.id)


def test_minutes_between_check_in_and_out(session: Session) -> None:
    o = opportunity(session, starts_in=1, hours=3)
    v = make_volunteer(session)
    staff = principal(session, "community")  # staff check in a volunteer who has no phone
    up = opps.sign_up(session, staff, o.id, v.id)
    opps.check_in(session, staff, up.id, now=o.starts_at + timedelta(minutes=10))
    _, entry = opps.check_out(session, staff, up.id, now=o.starts_at + timedelta(minutes=55, seconds=59))
    assert entry.minutes == 45


def test_a_waitlisted_volunteer_cannot_check_in(session: Session) -> None:
    o = opportunity(session, slots=1, starts_in=0.2)
    first, second = make_volunteer(session), make_volunteer(session)
    staff = principal(session, "community")
    opps.sign_up(session, staff, o.id, first.id)
    waiting = opps.sign_up(session, staff, o.id, second.id)
    with pytest.raises(Conflict):
        opps.check_in(session, staff, waiting.id)
    with pytest.raises(Conflict):
        opps.check_out(session, staff, waiting.id)


def test_no_sign_up_for_a_cancelled_or_finished_opportunity(session: Session) -> None:
    staff = principal(session, "community")
    v = make_volunteer(session)
    o = opportunity(session)
    opps.cancel_opportunity(session, staff, o.id)
    with pytest.raises(Conflict):
        opps.sign_up(session, staff, o.id, v.id)
    past = opportunity(session, starts_in=-3, hours=1)
    with pytest.raises(Conflict):
        opps.sign_up(session, staff, past.id, v.id)


def _race_for_last_slot(db: Database, opportunity_id: uuid.UUID, usernames: list[str]) -> list[str]:
    start = threading.Barrier(len(usernames))
    outcomes: list[str] = []

    def go(username: str) -> None:
        with db.sessions() as s:
            me = user_principal(s, username)
        start.wait()
        try:
            with db.unit_of_work() as s:
                outcomes.append(opps.sign_up(s, me, opportunity_id).status)
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=go, args=(u,)) for u in usernames]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_two_volunteers_racing_for_the_last_slot_one_gets_it(migrated: Database) -> None:
    with migrated.unit_of_work() as s:
        vols = [make_volunteer(s, username=f"race-{i}-{uuid.uuid4().hex[:6]}") for i in range(3)]
        o = opportunity(s, slots=1)
        names = [s.get(User, v.user_id).username for v in vols]
        ids, oid = [v.id for v in vols], o.id
    try:
        outcomes = _race_for_last_slot(migrated, oid, names)
        assert sorted(outcomes) == ["signed_up", "waitlisted", "waitlisted"], outcomes
        with migrated.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Signup).where(
                Signup.opportunity_id == oid, Signup.status == "signed_up")) == 1
    finally:
        with migrated.unit_of_work() as s:
            remove_opportunities(s, [oid])
            remove_volunteers(s, ids)


def test_the_opportunity_lock_makes_the_second_sign_up_wait(migrated: Database) -> None:
    """On PostgreSQL, without the row lock both would count a free slot. The first pauses after counting; the
    second must wait at the lock, then find the slot taken."""
    if not is_postgres(migrated.engine):
        pytest.skip("SQLite serialises whole transactions; the row lock is PostgreSQL's")
    with migrated.unit_of_work() as s:
        vols = [make_volunteer(s, username=f"lock-{i}-{uuid.uuid4().hex[:6]}") for i in range(2)]
        o = opportunity(s, slots=1)
        names = [s.get(User, v.user_id).username for v in vols]
        ids, oid = [v.id for v in vols], o.id
    counted, release = threading.Event(), threading.Event()
    real_taken = Waitlist.taken  # the seats counted by kit/waitlist.py, under the lock
    outcomes: dict[str, str] = {}

    def slow_taken(self, session, opportunity):
        n = real_taken(self, session, opportunity)
        if threading.current_thread().name == "first":
            counted.set()
            release.wait(10)
        return n

    def go(name: str, username: str) -> None:
        with migrated.sessions() as s:
            me = user_principal(s, username)
        with migrated.unit_of_work() as s:
            outcomes[name] = opps.sign_up(s, me, oid).status

    Waitlist.taken = slow_taken  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=go, args=("first", names[0]), name="first")
        first.start()
        assert counted.wait(10)
        second = threading.Thread(target=go, args=("second", names[1]), name="second")
        second.start()
        second.join(1.0)
        assert second.is_alive(), "the second sign-up should wait on the opportunity's row lock"
        release.set()
        first.join(30)
        second.join(30)
        assert outcomes == {"first": "signed_up", "second": "waitlisted"}
    finally:
        Waitlist.taken = real_taken  # type: ignore[method-assign]
        release.set()
        with migrated.unit_of_work() as s:
            remove_opportunities(s, [oid])
            remove_volunteers(s, ids)
