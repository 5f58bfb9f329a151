"""Reads of households for other domains (registry/households.py): find by the head's name, initials or number,
by a member's ID number, describe several at once, and which households hold which groups on a day — each in
one query."""

from __future__ import annotations

from datetime import date
from typing import Self

from sqlalchemy import event
from sqlalchemy.orm import Session

from jiayuan.registry.people import households
from jiayuan.registry.places import houses
from jiayuan.registry.people import service as people
from tests.personas import COMMUNITY, GRID_A
from tests.registry.helpers import id_number, principal


def make(session: Session, who, name: str, number: str, *, serial: int | None = None, birth: str = "19800101",
         tags: dict | None = None, grid: str = GRID_A, room=None):
    h = people.create_household(session, who, grid, number=number, room_id=room)
    head = people.create_person(session, who, {"name": name, "grid_code": grid,
                                               "id_number": id_number(serial, birth=birth) if serial else None})
    people.add_member(session, who, head.id, h.id, "户主", head=True)
    for tag, (starts, ends) in (tags or {}).items():
        people.add_tag(session, who, head.id, tag, starts_on=starts, ends_on=ends)
    return h, head


class Count:
    """Counts the statements a block sends."""

    def __init__(self, session: Session) -> None:
        self.engine, self.n = session.get_bind(), 0

    def __enter__(self) -> Self:
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args: object) -> None:
        self.n += 1


def test_find_by_head_name_initials_or_number(session: Session) -> None:
    who = principal(session, "community")
    compound = houses.create_compound(session, who, grid_code=GRID_A, name="幸福小区")
    building = houses.create_building(session, who, grid_code=GRID_A, compound_id=compound.id, name="3栋")
    room, _ = houses.put_room(session, who, building_id=building.id, entrance="2单元", number="502",
                              use="self_occupied")
    h, _head = make(session, who, "欧阳春花", "7001234", room=room.id)
    make(session, who, "欧阳秋月", "7001235")
    with Count(session) as c:
        found = households.find_households(session, COMMUNITY, "春花")
    assert c.n == 1
    assert [(f.id, f.head_name, f.number, f.address, f.members) for f in found] == [
        (h.id, "欧阳春花", "7001234", "幸福小区 3栋 2单元 502", 1)]
    assert {f.head_name for f in households.find_households(session, COMMUNITY, "oych")} == {"欧阳春花"}
    assert {f.head_name for f in households.find_households(session, COMMUNITY, "欧阳")} == {"欧阳春花", "欧阳秋月"}
    assert [f.id for f in households.find_households(session, COMMUNITY, "7001234")] == [h.id]
    assert households.find_households(session, GRID_A[:9] + "999", "春花") == []  # another unit


def test_find_by_id_number_and_of_person(session: Session) -> None:
    who = principal(session, "community")
    h, head = make(session, who, "李四", "7002000", serial=777)
    assert households.household_by_id_number(session, COMMUNITY, id_number(777)).id == h.id
    assert households.household_by_id_number(session, COMMUNITY, id_number(778)) is None
    assert households.household_by_id_number(session, COMMUNITY, "not a number") is None
    assert households.household_of_person(session, head.district_code, head.id).id == h.id
    assert households.looks_personal(id_number(777)) and not households.looks_personal("7002000")


def test_households_with_tags_on_a_day(session: Session) -> None:
    who = principal(session, "community")
    first = date(2026, 3, 1)
    on, _ = make(session, who, "在册", "1", tags={"allowance": (first, None)})
    late, _ = make(session, who, "迟到", "2", tags={"allowance": (date(2026, 3, 2), None)})
    ended, _ = make(session, who, "已停", "3", tags={"allowance": (date(2025, 1, 1), date(2026, 2, 28))})
    last_day, _ = make(session, who, "末日", "4", tags={"disabled": (date(2025, 1, 1), first)})
    old, _ = make(session, who, "老人", "5", serial=5, birth="19451231", tags={"allowance": (date(2025, 1, 1), None)})
    gone, gone_head = make(session, who, "匿名", "6", tags={"allowance": (date(2025, 1, 1), None)})
    people.anonymize_person(session, principal(session, "admin"), gone_head.id, "依法删除请求")
    with Count(session) as c:
        found = households.households_with_tags(session, COMMUNITY, ["allowance", "disabled", "aged_80"], first)
    assert c.n == 1
    assert found[on.id][1] == {"allowance"}
    assert found[last_day.id][1] == {"disabled"}
    assert found[old.id] == (GRID_A, {"allowance", "aged_80"})
    for missing in (late.id, ended.id, gone.id):
        assert missing not in found
    # Aged 80 on the 1st means born on or before that day eighty years before.
    assert old.id not in households.households_with_tags(session, COMMUNITY, ["aged_80"], date(2025, 12, 30))
