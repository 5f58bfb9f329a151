"""Activities: capacity then the waitlist, promotion on cancellation, registrations racing for the last place on
the real database, QR check-in, staff ticking the list, hours credited from a volunteer-run activity exactly once,
series figures."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import create_user
from jiayuan.activities import service
from jiayuan.activities.models import Activity, Registration
from jiayuan.kit.db import Database, is_postgres
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.waitlist import Waitlist
from jiayuan.notify.models import OutboxMessage
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.models import HoursEntry
from tests.personas import COMMUNITY
from tests.volunteers.helpers import (
    DISTRICT,
    later,
    make_person,
    make_volunteer,
    principal,
    remove_opportunities,
    remove_volunteers,
    user_principal,
)

_serial = iter(range(10**6))


def activity(session: Session, capacity: int | None = 2, starts_in: float = 24, hours: float = 2, **data):
    start = later(starts_in)
    return service.create_activity(session, principal(session, "community"), {
        "unit_code": COMMUNITY, "kind": "lecture", "title": "健康讲座", "organizer": "社区卫生服务站",
        "place": "社区活动室", "starts_at": start, "ends_at": start + timedelta(hours=hours), "capacity": capacity,
        **data})


def residents(session: Session, n: int) -> list:
    out = []
    for _ in range(n):
        user = create_user(session, username=f"res-{uuid.uuid4().hex[:10]}", full_name=f"居民{next(_serial)}",
                           role="resident", scope_code=None, password_hash="x")
        out.append(user_principal(session, user.username))
    return out


def test_capacity_then_waitlist_and_a_cancellation_moves_the_first_up(session: Session) -> None:
    a = activity(session, capacity=2)
    people = residents(session, 4)
    regs = [service.register(session, p, a.id) for p in people]
    assert [r.status for r in regs] == ["registered", "registered", "waitlisted", "waitlisted"]
    with pytest.raises(Conflict):
        service.register(session, people[0], a.id)
    service.cancel_registration(session, people[0], regs[0].id)
    session.refresh(regs[2])
    assert regs[2].status == "registered" and service.counts_of(session, [a])[a.id].registered == 2
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == people[2].user_id)).all()
    assert len(told) == 1 and "名额" in told[0].body
    # Raising the capacity moves the rest of the waitlist up; unlimited takes everyone.
    service.update_activity(session, principal(session, "community"), a.id, {"capacity": None})
    session.refresh(regs[3])
    assert regs[3].status == "registered"


def test_staff_register_a_registry_person(session: Session) -> None:
    a = activity(session, capacity=1)
    person = make_person(session, "张阿姨")
    staff = principal(session, "community")
    reg = service.register(session, staff, a.id, person.id)
    assert (reg.person_id, reg.name, reg.status, reg.registered_by) == (person.id, "张阿姨", "registered",
                                                                         staff.user_id)
    with pytest.raises(Conflict):
        service.register(session, staff, a.id, person.id)
    with pytest.raises(NotFound):  # a person outside the caller's scope
        service.register(session, principal(session, "other_community"), a.id, person.id)
    with pytest.raises(Forbidden):
        service.register(session, residents(session, 1)[0], a.id, person.id)


@pytest.mark.parametrize(("change", "field"), [
    ({"capacity": 0}, "capacity"), ({"kind": "party"}, "kind"), ({"title": " "}, "title"),
    ({"place": None}, "place"), ({"volunteer_run": True}, "volunteer_slots"),
    ({"volunteer_run": True, "volunteer_slots": 0}, "volunteer_slots"), ({"starts_at": None}, "starts_at"),
])
def test_bad_activities_name_the_field(session: Session, change: dict, field: str) -> None:
    start = later(5)
    data = {"unit_code": COMMUNITY, "kind": "culture", "title": "x", "organizer": "y", "place": "z",
            "starts_at": start, "ends_at": start + timedelta(hours=1), **change}
    with pytest.raises(Invalid) as exc:
        service.create_activity(session, principal(session, "community"), data)
    assert exc.value.field == field


def test_qr_check_in_of_a_registered_resident_and_a_walk_in(session: Session) -> None:
    a = activity(session, capacity=2, starts_in=0.25)
    me, walk_in, late = residents(session, 3)
    reg = service.register(session, me, a.id)
    with pytest.raises(Conflict):  # too early
        service.check_in_by_token(session, me, a.checkin_token, now=a.starts_at - timedelta(minutes=31))
    done, _, new = service.check_in_by_token(session, me, a.checkin_token)
    assert done.id == reg.id and done.status == "attended" and new
    assert service.check_in_by_token(session, me, a.checkin_token)[2] is False  # a second scan: nothing new
    w, _, _ = service.check_in_by_token(session, walk_in, a.checkin_token)
    assert w.status == "attended"
    with pytest.raises(Conflict) as exc:  # full
        service.check_in_by_token(session, late, a.checkin_token)
    assert exc.value.field == "capacity"
    with pytest.raises(NotFound):
        service.check_in_by_token(session, late, "not-a-real-token-at-all")
    assert service.counts_of(session, [a])[a.id].attended == 2
    with pytest.raises(Conflict):  # attendance cannot be cancelled
        service.cancel_registration(session, me, reg.id)


def test_staff_tick_the_list(session: Session) -> None:
    a = activity(session, capacity=1, starts_in=0.1)
    staff = principal(session, "community")
    first, second = residents(session, 2)
    reg = service.register(session, first, a.id)
    waiting = service.register(session, second, a.id)
    assert service.tick(session, staff, reg.id, True).status == "attended"
    assert service.tick(session, staff, reg.id, False).status == "registered"
    with pytest.raises(Conflict):
        service.tick(session, staff, waiting.id, True)
    with pytest.raises(NotFound):
        service.tick(session, second, reg.id, True)


def test_a_volunteer_run_activity_credits_the_volunteers_who_staffed_it_once(session: Session) -> None:
    a = activity(session, capacity=None, starts_in=1, hours=2.5, kind="volunteer", volunteer_run=True,
                 volunteer_slots=2, volunteer_team="cyan")
    o = opps.for_activity(session, DISTRICT, a.id)
    assert o is not None and o.slots == 2 and o.team_code == "cyan" and o.starts_at == a.starts_at
    staff = principal(session, "community")
    came, absent, waiting = make_volunteer(session), make_volunteer(session), make_volunteer(session)
    ups = {v.id: opps.sign_up(session, staff, o.id, v.id) for v in (came, absent, waiting)}
    assert ups[waiting.id].status == "waitlisted"
    opps.check_in(session, staff, ups[came.id].id, now=a.starts_at)
    # Checking out of the activity's opportunity credits nothing: the activity's close does.
    _, entry = opps.check_out(session, staff, ups[came.id].id, now=a.ends_at)
    assert entry is None
    with pytest.raises(Conflict):  # not before the end
        service.close_attendance(session, staff, a.id, now=a.ends_at - timedelta(minutes=1))
    closed = service.close_attendance(session, staff, a.id, now=a.ends_at + timedelta(minutes=5))
    assert [(e.volunteer_id, e.minutes, e.kind, e.source_type, e.source_id) for e in closed.credited] == [
        (came.id, 150, "activity", "activity", a.id)]
    again = service.close_attendance(session, staff, a.id, now=a.ends_at + timedelta(hours=1))
    assert again.credited == [] and again.already == 1
    assert volunteers.balance_minutes(session, DISTRICT, came.id) == 150
    assert volunteers.balance_minutes(session, DISTRICT, absent.id) == 0
    assert session.scalar(select(func.count()).select_from(HoursEntry).where(
        HoursEntry.source_type == "activity", HoursEntry.source_id == a.id)) == 1


def test_series_figures(session: Session) -> None:
    staff = principal(session, "community")
    s = service.create_series(session, staff, {"unit_code": COMMUNITY, "name": f"文化艺术节{uuid.uuid4().hex[:4]}"})
    shows = [activity(session, capacity=None, starts_in=0.1, series_id=s.id) for _ in range(3)]
    service.cancel_activity(session, staff, shows[2].id)
    people = residents(session, 3)
    for p in people:
        service.register(session, p, shows[0].id)
        service.check_in_by_token(session, p, shows[0].checkin_token)
    service.register(session, people[0], shows[1].id)
    figures = service.series_figures(session, s)
    assert (figures.shows, figures.participants, figures.registered) == (2, 3, 4)
    with pytest.raises(Conflict):
        service.create_series(session, staff, {"unit_code": COMMUNITY, "name": s.name})


def test_a_private_activity_is_not_found_by_residents(session: Session) -> None:
    a = activity(session, public=False)
    me = residents(session, 1)[0]
    with pytest.raises(NotFound):
        service.register(session, me, a.id)
    assert a.id not in {x.id for x in service.public_activities(session)}
    assert service.get_activity(session, principal(session, "community"), a.id).id == a.id


def _race(db: Database, activity_id: uuid.UUID, usernames: list[str]) -> list[str]:
    start = threading.Barrier(len(usernames))
    outcomes: list[str] = []

    def go(username: str) -> None:
        with db.sessions() as s:
            me = user_principal(s, username)
        start.wait()
        try:
            with db.unit_of_work() as s:
                outcomes.append(service.register(s, me, activity_id).status)
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=go, args=(u,)) for u in usernames]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_concurrent_registrations_never_exceed_the_capacity(migrated: Database) -> None:
    with migrated.unit_of_work() as s:
        names = [create_user(s, username=f"race-res-{i}-{uuid.uuid4().hex[:6]}", full_name=f"居民{i}",
                             role="resident", scope_code=None, password_hash="x").username for i in range(4)]
        aid = activity(s, capacity=2).id
    try:
        outcomes = _race(migrated, aid, names)
        assert sorted(outcomes) == ["registered", "registered", "waitlisted", "waitlisted"], outcomes
        with migrated.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Registration).where(
                Registration.activity_id == aid, Registration.status == "registered")) == 2
    finally:
        with migrated.unit_of_work() as s:
            s.execute(delete(Registration).where(Registration.activity_id == aid))
            s.execute(delete(Activity).where(Activity.id == aid))
            s.execute(delete(User).where(User.username.in_(names)))


def test_the_activity_lock_makes_the_second_registration_wait(migrated: Database) -> None:
    if not is_postgres(migrated.engine):
        pytest.skip("SQLite serialises whole transactions; the row lock is PostgreSQL's")
    with migrated.unit_of_work() as s:
        names = [create_user(s, username=f"lock-res-{i}-{uuid.uuid4().hex[:6]}", full_name=f"居民{i}",
                             role="resident", scope_code=None, password_hash="x").username for i in range(2)]
        aid = activity(s, capacity=1).id
    counted, release = threading.Event(), threading.Event()
    real = Waitlist.has_room  # the room counted by kit/waitlist.py, under the lock
    outcomes: dict[str, str] = {}

    def slow(self, session, a):
        room = real(self, session, a)
        if threading.current_thread().name == "first":
            counted.set()
            release.wait(10)
        return room

    def go(name: str, username: str) -> None:
        with migrated.sessions() as s:
            me = user_principal(s, username)
        with migrated.unit_of_work() as s:
            outcomes[name] = service.register(s, me, aid).status

    Waitlist.has_room = slow  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=go, args=("first", names[0]), name="first")
        first.start()
        assert counted.wait(10)
        second = threading.Thread(target=go, args=("second", names[1]), name="second")
        second.start()
        second.join(1.0)
        assert second.is_alive(), "the second registration should wait on the activity's row lock"
        release.set()
        first.join(30)
        second.join(30)
        assert outcomes == {"first": "registered", "second": "waitlisted"}
    finally:
        Waitlist.has_room = real  # type: ignore[method-assign]
        release.set()
        with migrated.unit_of_work() as s:
            s.execute(delete(Registration).where(Registration.activity_id == aid))
            s.execute(delete(Activity).where(Activity.id == aid))
            s.execute(delete(User).where(User.username.in_(names)))


def test_hours_from_a_volunteer_run_activity_survive_a_concurrent_second_close(migrated: Database) -> None:
    """Two staff close the same attendance at once: the volunteer is credited exactly once."""
    with migrated.unit_of_work() as s:
        v = make_volunteer(s)
        a = activity(s, capacity=None, starts_in=1, hours=2, volunteer_run=True, volunteer_slots=1)
        o = opps.for_activity(s, DISTRICT, a.id)
        staff = principal(s, "community")
        up = opps.sign_up(s, staff, o.id, v.id)
        opps.check_in(s, staff, up.id, now=a.starts_at)
        vid, aid, oid, end = v.id, a.id, o.id, a.ends_at
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def close() -> None:
        with migrated.sessions() as s:
            me = principal(s, "community")
        start.wait()
        try:
            with migrated.unit_of_work() as s:
                outcomes.append(len(service.close_attendance(s, me, aid, now=end + timedelta(minutes=1)).credited))
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    try:
        threads = [threading.Thread(target=close) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes, key=str) == [0, 1], outcomes
        with migrated.sessions() as s:
            assert volunteers.balance_minutes(s, DISTRICT, vid) == 120
    finally:
        with migrated.unit_of_work() as s:
            remove_opportunities(s, [oid])
            remove_volunteers(s, [vid])
            s.execute(delete(Activity).where(Activity.id == aid))


def test_bad_series_name_the_field(session: Session) -> None:
    staff = principal(session, "community")
    for data, field in (({"name": ""}, "name"), ({"name": "x", "unit_code": "12"}, "unit_code"),
                        ({"name": "x", "starts_on": later(48).date(), "ends_on": later(0).date()}, "ends_on")):
        with pytest.raises(Invalid) as exc:
            service.create_series(session, staff, {"unit_code": COMMUNITY, **data})
        assert exc.value.field == field
