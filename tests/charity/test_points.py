"""Points: the monthly issue (who is entitled on the 1st, the sum of rules, lots and their last day, once per month),
expiry of exactly the unspent rest of each lot (spends draw on the oldest first) on the right day and once, and
volunteer hours converted into points for the volunteer's household."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.charity import points, redeem, service
from jiayuan.charity.models import Account, IssueRun, PointsEntry
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.volunteers import service as volunteers
from tests.charity.helpers import LONG_AGO, beijing, count, donate, household, points_sum, staff, world
from tests.personas import COMMUNITY, GRID_A, GRID_B

MARCH = date(2026, 3, 1)


def lots(session: Session, household_id: uuid.UUID) -> list[tuple[str, int, date | None, int]]:
    """(kind, points, last day, remainder) of a household's lots, oldest first."""
    account = session.scalar(select(Account).where(Account.household_id == household_id))
    if account is None:
        return []
    return [(lot.kind, lot.points, lot.expires_on, lot.remaining) for lot in points.lots_of(session, account)]


def issue(session: Session, w, month: date):
    return points.issue_month(session, w.supermarket.id, month, now=beijing(month, 0, 5))


def test_issue_gives_each_entitled_household_the_sum_of_its_rules(session: Session) -> None:
    w = world(session)
    admin = staff("360802", Role.district_admin)
    service.put_rule(session, admin, tag="aged_80", points=5, valid_months=3)
    who = w.who
    # Entitled on the 1st: a tag that began that very day; not one beginning on the 2nd or ended the day before.
    first = household(session, who, "月初户", "9000010", {"allowance": (MARCH, None)})
    late = household(session, who, "迟到户", "9000011", {"allowance": (date(2026, 3, 2), None)})
    ended = household(session, who, "已停户", "9000012", {"allowance": (LONG_AGO, date(2026, 2, 28))})
    # Aged 80+ follows from the birth date; with the allowance (both valid 3 months) it makes one lot.
    old = household(session, who, "高龄户", "9000013", {"allowance": (LONG_AGO, None)}, serial=913, birth="19400101")
    elsewhere = household(session, who, "邻社区户", "9000014", {"allowance": (LONG_AGO, None)}, grid=GRID_B)
    run, created = issue(session, w, MARCH)
    assert created
    h = w.households
    assert lots(session, h["allowance"].id) == [("issue", 50, date(2026, 5, 31), 50)]
    # Allowance (3 months) and disabled (1 month): a lot for each validity, each to the end of its last month.
    assert sorted(lots(session, h["both"].id), key=lambda x: x[2]) == [
        ("issue", 20, date(2026, 3, 31), 20), ("issue", 50, date(2026, 5, 31), 50)]
    assert lots(session, first.id) == [("issue", 50, date(2026, 5, 31), 50)]
    assert lots(session, old.id) == [("issue", 55, date(2026, 5, 31), 55)]
    for nobody in (h["none"].id, late.id, ended.id):
        assert lots(session, nobody) == []
    grid_b_in_community = GRID_B.startswith(COMMUNITY)
    expected = [50, 70, 50, 55] + ([50] if grid_b_in_community else [])
    assert (run.households, run.points) == (len(expected), sum(expected))
    assert (lots(session, elsewhere.id) != []) == grid_b_in_community


def test_issue_twice_gives_once(session: Session) -> None:
    w = world(session)
    run, created = issue(session, w, MARCH)
    entries = count(session, PointsEntry)
    again, created_again = points.issue_month(session, w.supermarket.id, date(2026, 3, 17))  # any day of it
    assert created and not created_again and again.id == run.id
    assert count(session, PointsEntry) == entries and count(session, IssueRun) == 1
    # By hand through the staff's button: the same run again.
    by_hand, created_by_hand = points.issue_by_hand(session, w.who, w.supermarket.id, MARCH)
    assert by_hand.id == run.id and not created_by_hand
    with pytest.raises(Invalid) as exc:  # a month that has not begun
        points.issue_month(session, w.supermarket.id, date(2099, 1, 1))
    assert exc.value.field == "month"
    with pytest.raises(Forbidden):
        points.issue_by_hand(session, staff(COMMUNITY, Role.volunteer), w.supermarket.id, MARCH)


def test_expiry_writes_off_exactly_the_unspent_rest_on_the_right_day(session: Session) -> None:
    """Allowance 50 a month valid 3 months, issued in January, February and March; 30 spent on 10 March comes
    out of January's lot (the oldest), leaving it 20. January's lot is spendable to 31 March and its 20 are
    written off on 1 April; February's 50 untouched on 1 May."""
    w = world(session)
    hid = w.households["allowance"].id
    district = w.supermarket.district_code
    for month in (date(2026, 1, 1), date(2026, 2, 1), MARCH):
        issue(session, w, month)
    donate(session, w, w.rice, 20)
    redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 3}],
                  now=beijing(date(2026, 3, 10)))
    assert [lot[3] for lot in lots(session, hid)] == [20, 50, 50]
    account = session.scalar(select(Account).where(Account.household_id == hid))
    points.expire_points(session, date(2026, 3, 31), now=beijing(date(2026, 3, 31), 0, 5))
    # (The other households' one-month disability lots of January and February went; not this one's.)
    assert count(session, PointsEntry, account_id=account.id, kind="expire") == 0
    # On 1 April, before the expiry has run, January's rest can no longer be spent.
    assert points.spendable(session, district, [account.id], date(2026, 4, 1))[account.id] == 100
    points.expire_points(session, date(2026, 4, 1), now=beijing(date(2026, 4, 1), 0, 5))
    expired = session.scalars(select(PointsEntry).where(PointsEntry.account_id == account.id,
                                                        PointsEntry.kind == "expire")).all()
    assert [(e.points, e.lot_id) for e in expired] == [(-20, lots_ids(session, hid)[0])]
    assert points.expire_points(session, date(2026, 4, 1)) == 0  # once
    assert count(session, PointsEntry, account_id=account.id, kind="expire") == 1
    assert points.ledger_balance(session, account) == 100
    # FIFO again: 60 on 2 April takes February's 50 and 10 of March's.
    redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 6}],
                  now=beijing(date(2026, 4, 2)))
    assert [lot[3] for lot in lots(session, hid)] == [0, 0, 40]
    points.expire_points(session, date(2026, 5, 1), now=beijing(date(2026, 5, 1), 0, 5))
    points.expire_points(session, date(2026, 6, 1), now=beijing(date(2026, 6, 1), 0, 5))
    # Lots spent in full leave nothing to write off; March's 40 went on 1 June.
    assert points_sum(session, district, account_id=account.id, kind="expire") == -60
    assert points.ledger_balance(session, account) == 0


def lots_ids(session: Session, household_id: uuid.UUID) -> list[uuid.UUID]:
    account = session.scalar(select(Account).where(Account.household_id == household_id))
    return [lot.id for lot in points.lots_of(session, account)]


def test_hours_convert_into_points_for_the_volunteers_household(session: Session) -> None:
    w = world(session)
    h = w.households["none"]  # no account yet: the conversion opens it
    volunteer = volunteers.create_volunteer(session, w.who, {"person_id": h.head_id})
    district = volunteer.district_code
    volunteers.credit_hours(session, volunteer.id, district, 330, "service", "test", uuid.uuid4())  # 5.5 hours
    lot, created = points.convert_hours(session, w.who, volunteer.id, 3)
    assert created and (lot.kind, lot.points, lot.expires_on) == ("conversion", 30, None)
    assert volunteers.balance_minutes(session, district, volunteer.id) == 150
    assert lots(session, h.id) == [("conversion", 30, None, 30)]
    # Only whole hours, and never more than the balance: refused, nothing written.
    for hours, error in ((1.5, Invalid), (0, Invalid), (3, Conflict)):
        with pytest.raises(error) as exc:
            points.convert_hours(session, w.who, volunteer.id, hours)
        assert exc.value.field in ("hours", "minutes")
    assert volunteers.balance_minutes(session, district, volunteer.id) == 150
    assert points_sum(session, district, kind="conversion") == 30
    # A retry with the same key converts once.
    key = f"conv-{uuid.uuid4()}"
    one, _ = points.convert_hours(session, w.who, volunteer.id, 1, idempotency_key=key)
    two, created_two = points.convert_hours(session, w.who, volunteer.id, 1, idempotency_key=key)
    assert one.id == two.id and not created_two
    assert volunteers.balance_minutes(session, district, volunteer.id) == 90
    assert points_sum(session, district, kind="conversion") == 40
    with pytest.raises(NotFound):  # another volunteer does not even see someone else's profile
        points.convert_hours(session, staff(COMMUNITY, Role.volunteer), volunteer.id, 1)
    with pytest.raises(Forbidden):  # nor does a grid worker who sees it convert for them
        points.convert_hours(session, staff(GRID_A, Role.grid_worker), volunteer.id, 1)
    # The volunteer themself may.
    themself = staff(COMMUNITY, Role.volunteer)
    volunteer.user_id = themself.user_id
    session.flush()
    mine, _ = points.convert_hours(session, themself, volunteer.id, 1)
    assert mine.points == 10 and volunteers.balance_minutes(session, district, volunteer.id) == 30


def test_a_volunteer_without_a_household_cannot_convert(session: Session) -> None:
    from jiayuan.registry.service import people

    w = world(session)
    loner = people.create_person(session, w.who, {"name": "无户志愿者", "grid_code": GRID_A})
    volunteer = volunteers.create_volunteer(session, w.who, {"person_id": loner.id})
    volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 120, "service", "test", uuid.uuid4())
    with pytest.raises(Conflict) as exc:
        points.convert_hours(session, w.who, volunteer.id, 1)
    assert exc.value.field == "volunteer_id"
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 120


def test_card_opens_only_its_own_account(session: Session) -> None:
    w = world(session)
    issue(session, w, MARCH)
    account = session.scalar(select(Account).where(Account.household_id == w.households["allowance"].id))
    token = points.card_token(account)
    assert len(token) == 40 and token.startswith(account.district_code)
    assert points.account_by_card(session, points.format_card(token).lower()).id == account.id
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, token[:20], "", "x" * 40):
        with pytest.raises(Exception) as exc:
            points.account_by_card(session, bad)
        assert exc.value.status_code == 404


def test_hours_converted_in_a_month_are_capped_by_the_district_rule(session: Session) -> None:
    """JIAYUAN_POINTS_HOURS_PER_MONTH (20 by default): a conversion that would pass the month's cap is refused
    whole, naming the field, the rule and the hours left; last month's conversions do not count."""
    from datetime import timedelta

    from jiayuan.config import get_settings
    from jiayuan.kit.db import utcnow, uuid7
    from jiayuan.volunteers.models import HoursEntry

    cap = get_settings().points_hours_per_month
    assert cap == 20
    w = world(session)
    h = w.households["none"]
    volunteer = volunteers.create_volunteer(session, w.who, {"person_id": h.head_id})
    district = volunteer.district_code
    volunteers.credit_hours(session, volunteer.id, district, 60 * 60, "service", "test", uuid.uuid4())
    # Ten hours converted last month (Beijing time) are last month's.
    first_of_month = service.day_start(service.month_start(points.local_today()))
    session.add(HoursEntry(district_code=district, id=uuid7(), volunteer_id=volunteer.id, minutes=-600,
                           kind="conversion", at=first_of_month - timedelta(minutes=1), source_type="charity_points",
                           source_id=uuid.uuid4()))
    session.flush()
    points.convert_hours(session, w.who, volunteer.id, 15)
    with pytest.raises(Conflict) as refused:
        points.convert_hours(session, w.who, volunteer.id, 6)
    error = refused.value
    assert (error.field, error.reason) == ("hours", "monthly_cap")
    assert error.details["source"] == "district rule" and error.details["setting"] == "JIAYUAN_POINTS_HOURS_PER_MONTH"
    assert (error.details["cap_hours"], error.details["converted_hours"], error.details["left_hours"]) == (20, 15, 5)
    assert volunteers.balance_minutes(session, district, volunteer.id) == (60 - 10 - 15) * 60  # nothing written
    assert points_sum(session, district, kind="conversion") == 150
    lot, _ = points.convert_hours(session, w.who, volunteer.id, 5)  # exactly up to the cap
    assert lot.points == 50 and utcnow() >= lot.at
    with pytest.raises(Conflict) as refused:
        points.convert_hours(session, w.who, volunteer.id, 1)
    assert refused.value.details["left_hours"] == 0
    assert volunteers.balance_minutes(session, district, volunteer.id) == (60 - 10 - 20) * 60
