"""The hours ledger: append-only, balances derived from the entries, a source credits once, no debit below zero
(also when two debits race on the real database), honours at the thresholds with numbered certificates."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.kit.db import Database, is_postgres
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.notify.models import OutboxMessage
from jiayuan.volunteers import service
from jiayuan.volunteers.models import Honour, HoursEntry, Volunteer
from tests.volunteers.helpers import (
    DISTRICT,
    credit,
    ledger_sum,
    make_volunteer,
    principal,
    remove_volunteers,
    user_principal,
)


def entries(session: Session, volunteer: Volunteer) -> list[HoursEntry]:
    return list(session.scalars(select(HoursEntry).where(HoursEntry.volunteer_id == volunteer.id)
                                .order_by(HoursEntry.at, HoursEntry.id)))


def test_every_credit_and_debit_is_an_entry_and_the_balance_is_their_sum(session: Session) -> None:
    v = make_volunteer(session)
    credit(session, v, 90, uuid.uuid4())
    credit(session, v, 30, uuid.uuid4())
    service.debit_hours(session, v.id, v.district_code, 50, "conversion", "conversion", uuid.uuid4())
    rows = entries(session, v)
    assert [e.minutes for e in rows] == [90, 30, -50]
    assert service.balance_minutes(session, v.district_code, v.id) == ledger_sum(session, v) == 70
    # No balance is stored anywhere: the volunteer's row has no such column.
    assert not any("balance" in c.name or "minutes" in c.name for c in Volunteer.__table__.columns)


def test_a_retried_source_credits_once_and_returns_the_first_entry(session: Session) -> None:
    v = make_volunteer(session)
    source = uuid.uuid4()
    first = service.credit_hours(session, v.id, DISTRICT, 60, "service", "visit", source)
    again = service.credit_hours(session, v.id, DISTRICT, 60, "service", "visit", source, note="retry")
    assert again.id == first.id
    assert len(entries(session, v)) == 1 and service.balance_minutes(session, DISTRICT, v.id) == 60
    # The same id under another source type is another source.
    service.credit_hours(session, v.id, DISTRICT, 15, "service", "signup", source)
    assert service.balance_minutes(session, DISTRICT, v.id) == 75
    # A source first credited cannot come back as a debit.
    with pytest.raises(Conflict) as exc:
        service.debit_hours(session, v.id, DISTRICT, 10, "conversion", "visit", source)
    assert exc.value.field == "source_id"


def test_a_debit_below_zero_is_refused_and_writes_nothing(session: Session) -> None:
    v = make_volunteer(session)
    credit(session, v, 120, uuid.uuid4())
    with pytest.raises(Conflict) as exc:
        service.debit_hours(session, v.id, DISTRICT, 121, "conversion", "conversion", uuid.uuid4())
    assert exc.value.status_code == 409 and exc.value.field == "minutes"
    assert exc.value.details["balance_minutes"] == 120
    assert [e.minutes for e in entries(session, v)] == [120]
    service.debit_hours(session, v.id, DISTRICT, 120, "conversion", "conversion", uuid.uuid4())
    assert service.balance_minutes(session, DISTRICT, v.id) == 0


@pytest.mark.parametrize(("minutes", "kind", "field"), [
    (0, "service", "minutes"), (-5, "service", "minutes"), (1.5, "service", "minutes"), (True, "service", "minutes"),
    (10, "bonus", "kind"), (10**7, "service", "minutes"),
])
def test_bad_entries_name_the_field(session: Session, minutes: object, kind: str, field: str) -> None:
    v = make_volunteer(session)
    with pytest.raises(Invalid) as exc:
        service.credit_hours(session, v.id, DISTRICT, minutes, kind, None, None)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_an_unknown_volunteer_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.credit_hours(session, uuid.uuid4(), DISTRICT, 10, "service", None, None)


def test_honours_at_each_threshold_with_numbered_certificates(session: Session) -> None:
    v = make_volunteer(session)
    credit(session, v, 99 * 60, uuid.uuid4())
    assert not service.award_honours(session, DISTRICT, v.id)
    credit(session, v, 60, uuid.uuid4())  # 100 hours
    honours = session.scalars(select(Honour).where(Honour.volunteer_id == v.id)).all()
    assert [h.threshold_hours for h in honours] == [100]
    number = honours[0].certificate_no
    assert number.startswith(f"ZY{DISTRICT}20") and len(number) == 2 + 6 + 4 + 6
    # One credit that jumps two thresholds earns both; conversions do not take an honour back.
    credit(session, v, 500 * 60, uuid.uuid4())
    service.debit_hours(session, v.id, DISTRICT, 590 * 60, "conversion", "conversion", uuid.uuid4())
    credit(session, v, 60, uuid.uuid4())  # service 601 h, balance 11 h
    thresholds = sorted(session.scalars(select(Honour.threshold_hours).where(Honour.volunteer_id == v.id)))
    assert thresholds == [100, 300, 600]
    numbers = sorted(session.scalars(select(Honour.certificate_no).where(Honour.volunteer_id == v.id)))
    assert len(set(numbers)) == 3 and [int(n[-6:]) for n in numbers] == [int(number[-6:]) + i for i in range(3)]
    assert service.service_minutes(session, DISTRICT, v.id) == 601 * 60
    assert service.balance_minutes(session, DISTRICT, v.id) == 11 * 60
    assert service.next_honour(601 * 60) == 1000


def test_concurrent_debits_never_overdraw(migrated: Database) -> None:
    """Two debits of 60 minutes against a balance of 90, each in a thread with its own session on the real
    database: exactly one succeeds. SQLite serialises at BEGIN IMMEDIATE; PostgreSQL at the volunteer's row lock,
    which this test proves by holding both threads until both have read the balance if there were no lock."""
    with migrated.unit_of_work() as s:
        v = make_volunteer(s)
        credit(s, v, 90, uuid.uuid4())
        vid = v.id
    start = threading.Barrier(2)
    outcomes: list[str] = []
    real_balance = service.balance_minutes

    def debit() -> None:
        start.wait()
        try:
            with migrated.unit_of_work() as s:
                service.debit_hours(s, vid, DISTRICT, 60, "conversion", "conversion", uuid.uuid4())
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    try:
        threads = [threading.Thread(target=debit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) == ["conflict", "ok"], outcomes
        with migrated.sessions() as s:
            assert service.balance_minutes(s, DISTRICT, vid) == 30
            assert s.scalar(select(func.count()).select_from(HoursEntry).where(HoursEntry.volunteer_id == vid)) == 2
    finally:
        service.balance_minutes = real_balance
        with migrated.unit_of_work() as s:
            remove_volunteers(s, [vid])


def test_without_the_row_lock_the_race_would_overdraw(migrated: Database) -> None:
    """The control of the test above on PostgreSQL: both threads read the balance before either writes unless the
    lock makes the second wait. The first thread pauses after reading; the second must not get past its lock."""
    if not is_postgres(migrated.engine):
        pytest.skip("SQLite serialises whole transactions; the row lock is PostgreSQL's")
    with migrated.unit_of_work() as s:
        v = make_volunteer(s)
        credit(s, v, 90, uuid.uuid4())
        vid = v.id
    first_read = threading.Event()
    release = threading.Event()
    real_balance = service.balance_minutes
    outcomes: dict[str, str] = {}

    def slow_balance(session, district, volunteer_id):
        value = real_balance(session, district, volunteer_id)
        if threading.current_thread().name == "first":
            first_read.set()
            release.wait(10)
        return value

    def debit(name: str) -> None:
        try:
            with migrated.unit_of_work() as s:
                service.debit_hours(s, vid, DISTRICT, 60, "conversion", "conversion", uuid.uuid4())
            outcomes[name] = "ok"
        except Conflict:
            outcomes[name] = "conflict"

    service.balance_minutes = slow_balance
    try:
        first = threading.Thread(target=debit, args=("first",), name="first")
        first.start()
        assert first_read.wait(10)
        second = threading.Thread(target=debit, args=("second",), name="second")
        second.start()
        second.join(1.0)
        assert second.is_alive(), "the second debit should wait on the volunteer's row lock"
        release.set()
        first.join(30)
        second.join(30)
        assert outcomes == {"first": "ok", "second": "conflict"}
    finally:
        service.balance_minutes = real_balance
        release.set()
        with migrated.unit_of_work() as s:
            remove_volunteers(s, [vid])


def test_a_volunteer_sees_their_own_profile_and_staff_theirs_in_scope(session: Session) -> None:
    v = make_volunteer(session, username=f"vol-{uuid.uuid4().hex[:8]}")
    me = user_principal(session, session.get(User, v.user_id).username)
    assert service.volunteer_of(session, me).id == v.id
    assert service.get_volunteer(session, me, v.id).id == v.id
    other = make_volunteer(session)
    with pytest.raises(NotFound):
        service.get_volunteer(session, me, other.id)
    assert service.get_volunteer(session, principal(session, "grid_a"), v.id).id == v.id
    with pytest.raises(NotFound):
        service.get_volunteer(session, principal(session, "other_community"), v.id)
    assert service.volunteer_of(session, principal(session, "grid_a"), required=False) is None


def test_a_volunteer_with_an_account_is_told_of_an_honour(session: Session) -> None:
    v = make_volunteer(session, username=f"hon-{uuid.uuid4().hex[:8]}")
    credit(session, v, 100 * 60, uuid.uuid4())
    honour = session.scalar(select(Honour).where(Honour.volunteer_id == v.id))
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == v.user_id)).all()
    assert [m.ref for m in told] == [honour.certificate_no] and "100" in told[0].body
