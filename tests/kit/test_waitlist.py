"""kit/waitlist.py on tables of its own (the mechanism is generic over the model): seats while free, then the
line; a freed seat goes to the first in line, in the order they queued; no capacity is no limit. The race on the
parent's row lock is tested on the real tables (tests/activities, tests/volunteers), on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import ForeignKeyConstraint, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from jiayuan.kit.waitlist import Waitlist


class _Base(DeclarativeBase):
    pass


class Event(_Base):
    __tablename__ = "event"
    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seats: Mapped[int | None]


class Place(_Base):
    __tablename__ = "place"
    __table_args__ = (ForeignKeyConstraint(["district_code", "event_id"], ["event.district_code", "event.id"]),)
    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID]
    queued_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))


SEATS: Waitlist[Event, Place] = Waitlist(parent=Event, child=Place, parent_key="event_id", queued_at="queued_at",
                                         holds=("seated", "came"), seated="seated", capacity=lambda e: e.seats)
T0 = datetime(2030, 1, 1, 9, 0)


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _join(db: Session, event: Event, minute: int) -> Place:
    event = SEATS.lock(db, event)
    place = Place(district_code=event.district_code, event_id=event.id, queued_at=T0 + timedelta(minutes=minute),
                  status=SEATS.place(db, event))
    db.add(place)
    db.flush()
    return place


def test_seats_then_the_line_and_a_freed_seat_goes_to_the_first_in_line(db: Session) -> None:
    event = Event(district_code="360802", seats=2)
    db.add(event)
    db.flush()
    places = [_join(db, event, m) for m in range(5)]
    assert [p.status for p in places] == ["seated", "seated", "waitlisted", "waitlisted", "waitlisted"]
    assert SEATS.taken(db, event) == 2 and not SEATS.has_room(db, event)
    places[0].status = "cancelled"
    told: list[Place] = []
    moved = SEATS.promote(db, SEATS.lock(db, event), told.append)
    assert moved == [places[2]] == told and places[2].status == "seated" and places[3].status == "waitlisted"
    # A seat that came (another status holding a seat) still counts.
    places[1].status = "came"
    assert SEATS.promote(db, event) == [] and SEATS.taken(db, event) == 2


def test_more_seats_move_the_line_up_in_order_and_no_capacity_takes_everyone(db: Session) -> None:
    event = Event(district_code="360802", seats=1)
    db.add(event)
    db.flush()
    places = [_join(db, event, m) for m in (3, 1, 2)]  # queued out of insertion order
    assert [p.status for p in places] == ["seated", "waitlisted", "waitlisted"]
    event.seats = 2
    assert SEATS.promote(db, event) == [places[1]]  # the earliest in line, not the first inserted
    event.seats = None
    assert SEATS.promote(db, event) == [places[2]] and SEATS.has_room(db, event)
    assert SEATS.place(db, event) == "seated"
