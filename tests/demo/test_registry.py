"""The registry demo (jiayuan.demo.registry and .places): the shape of the small demo's people, houses,
facilities and organizations, generated and then loaded into each database."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from jiayuan.demo.generate import DemoDistrict, build_demo
from jiayuan.demo.registry import build_registry, load_registry
from jiayuan.demo.registry_specs import HEAD, SCALES, RegistryDemo
from jiayuan.kit.identity import parse_credit_code, parse_id_number, parse_mobile
from jiayuan.registry.models import (
    ORGANIZATION_KINDS,
    RESIDENCE_TYPES,
    ROOM_USES,
    TAGS,
    THING_KINDS,
    THING_STATUSES,
    Household,
    Organization,
    Person,
    PersonTag,
    Room,
)
from jiayuan.registry.service import DERIVED_TAGS, id_number_index, name_initials, phone_index

TODAY = date(2026, 3, 1)
HAN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
RELATIONS = {HEAD, "配偶", "子女", "父母", "孙子女"}
SOCIAL = ("social_welfare", "social_charity", "social_service", "social_rights")


@pytest.fixture(scope="module")
def demo() -> DemoDistrict:
    return build_demo("small")


@pytest.fixture(scope="module", params=[2026, 7])
def reg(request: pytest.FixtureRequest, demo: DemoDistrict) -> RegistryDemo:
    """The small registry demo of two seeds: the shape holds for any seed, not one lucky draw."""
    return build_registry(demo, "small", request.param, TODAY)


def grids(demo: DemoDistrict) -> dict[str, shapely.Geometry]:
    return {u.code: shape(u.geometry) for u in demo.units if u.level == "grid"}


def age(birth: date) -> int:
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


def test_every_grid_has_houses_people_and_facilities(demo: DemoDistrict, reg: RegistryDemo) -> None:
    codes = set(grids(demo))
    assert len(codes) == 12
    for rows in (reg.compounds, reg.buildings, reg.rooms, reg.households, reg.people, reg.things):
        assert {r.grid_code for r in rows} == codes
    assert 300 <= len(reg.people) <= 900  # "a few hundred"
    # A building is in its compound's grid, a room in its building's, people in their room's.
    assert all(reg.compounds[b.compound].grid_code == b.grid_code for b in reg.buildings)
    assert all(reg.buildings[r.building].grid_code == r.grid_code for r in reg.rooms)
    assert all(reg.rooms[p.room].grid_code == p.grid_code for p in reg.people)


def test_points_lie_in_their_grid(demo: DemoDistrict, reg: RegistryDemo) -> None:
    polygons = grids(demo)
    for rows in (reg.compounds, reg.buildings, reg.things):
        for r in rows:
            assert shapely.contains_xy(polygons[r.grid_code], r.lon, r.lat), r


def test_houses(reg: RegistryDemo) -> None:
    assert sum(c.property_company is None for c in reg.compounds) == SCALES["small"].without_property
    assert len({c.name for c in reg.compounds}) == len(reg.compounds)
    assert all(re.fullmatch(r"\d+栋", b.name) and b.floors >= 2 for b in reg.buildings)
    keys = [(r.building, r.entrance, r.number) for r in reg.rooms]
    assert len(set(keys)) == len(keys)  # the database's unique constraint
    assert all(re.fullmatch(r"\d单元", r.entrance) and re.fullmatch(r"\d+0\d", r.number) for r in reg.rooms)
    uses = Counter(r.use for r in reg.rooms)
    assert set(uses) == set(ROOM_USES)
    share = {use: n / len(reg.rooms) for use, n in uses.items()}
    assert 0.60 <= share["self_occupied"] <= 0.80
    assert 0.10 <= share["rented"] <= 0.26
    assert 0.03 <= share["vacant"] <= 0.13
    assert 0.01 <= share["commercial"] <= 0.07
    assert all(r.floor == 1 for r in reg.rooms if r.use == "commercial")  # shops on the ground floor


def test_households_have_exactly_one_head_and_live_in_a_dwelling(reg: RegistryDemo) -> None:
    members = defaultdict(list)
    for i, p in enumerate(reg.people):
        members[p.household].append(i)
    assert set(members) == set(range(len(reg.households)))
    for h, household in enumerate(reg.households):
        heads = [i for i in members[h] if reg.people[i].relation == HEAD]
        assert heads == [household.head]
        assert {reg.people[i].room for i in members[h]} == {household.room}
        assert reg.rooms[household.room].use in ("self_occupied", "rented")
    occupied = [i for i, r in enumerate(reg.rooms) if r.use in ("self_occupied", "rented")]
    assert sorted(h.room for h in reg.households) == occupied  # one household in each dwelling
    numbers = [(h.grid_code, h.number) for h in reg.households]
    assert len(set(numbers)) == len(numbers)
    assert {p.relation for p in reg.people} <= RELATIONS
    assert 2.6 <= len(reg.people) / len(reg.households) <= 3.4


def test_id_numbers_are_valid_unique_and_agree_with_birth_date_and_sex(reg: RegistryDemo) -> None:
    numbers = [p.id_number for p in reg.people if p.id_number]
    assert len(numbers) == len(set(numbers))
    assert len(numbers) >= 0.97 * len(reg.people)
    for p in reg.people:
        if p.id_number is None:
            assert p.residence_type == "unsettled" and age(p.birth_date) < 3
            continue
        parsed = parse_id_number(p.id_number, today=TODAY)
        assert (parsed.birth_date, parsed.sex) == (p.birth_date, p.sex)
        if p.residence_type == "foreign":
            assert parsed.region.startswith("936")  # the 2023 permanent-residence card, issued in Jiangxi
        else:
            assert parsed.region.startswith("36")  # Jiangxi
    registered = [p for p in reg.people if p.residence_type == "registered"]
    assert sum(p.id_number.startswith("360802") for p in registered) >= 0.8 * len(registered)
    floating = [p for p in reg.people if p.residence_type == "floating"]
    assert not any(p.id_number.startswith("360802") for p in floating)


def test_people(reg: RegistryDemo) -> None:
    n = len(reg.people)
    for p in reg.people:
        if p.residence_type != "foreign":
            assert HAN.match(p.name), p.name
        assert name_initials(p.name)
        if p.phone:
            assert parse_mobile(p.phone) == p.phone
        assert (p.floating_expires_on is not None) == (p.residence_type == "floating")
    phones = [p.phone for p in reg.people if p.phone]
    assert len(phones) == len(set(phones))
    adults = [p for p in reg.people if age(p.birth_date) >= 18]
    assert sum(p.phone is not None for p in adults) >= 0.8 * len(adults)
    residence = Counter(p.residence_type for p in reg.people)
    assert set(residence) == set(RESIDENCE_TYPES)
    assert 0.72 <= residence["registered"] / n <= 0.88
    assert 0.08 <= residence["floating"] / n <= 0.22
    assert residence["foreign"] >= 1
    ages = [age(p.birth_date) for p in reg.people]
    assert 0.12 <= sum(a >= 60 for a in ages) / n <= 0.26
    assert 0 < sum(a >= 80 for a in ages) / n <= 0.06
    assert min(ages) >= 0 and max(ages) <= 100


def test_tags(reg: RegistryDemo) -> None:
    n = len(reg.people)
    tags = Counter(t.tag for t in reg.tags)
    assert set(tags) == set(TAGS) - set(DERIVED_TAGS)  # age groups are derived, never stored
    for t in reg.tags:
        person = reg.people[t.person]
        assert t.grid_code == person.grid_code
        assert person.birth_date <= t.starts_on <= TODAY
        assert (t.grade in ("一级", "二级", "三级", "四级")) if t.tag == "disabled" else t.grade is None
        if t.tag in ("living_alone", "empty_nest"):
            assert age(person.birth_date) >= 60
        if t.tag == "left_behind_child":
            assert age(person.birth_date) < 16 and person.relation == "孙子女"
        if t.tag == "allowance":
            assert person.residence_type in ("registered", "unsettled")
    tagged = {tag: len({t.person for t in reg.tags if t.tag == tag}) for tag in tags}
    assert tagged["disabled"] == tags["disabled"] == round(0.02 * n)
    assert round(0.03 * n) <= tagged["allowance"] <= round(0.03 * n) + 5  # whole households
    assert tagged["living_alone"] + tagged["empty_nest"] >= 0.02 * n


def test_things(demo: DemoDistrict, reg: RegistryDemo) -> None:
    assert len({t.code for t in reg.things}) == len(reg.things)
    assert {t.kind for t in reg.things} == set(THING_KINDS) - {"other"}
    assert {t.status for t in reg.things} <= set(THING_STATUSES)
    statuses = Counter(t.status for t in reg.things)
    assert statuses["ok"] >= 0.8 * len(reg.things)
    assert sum(t.kind == "pocket_park" for t in reg.things) == 3
    per_grid = {(t.grid_code, t.kind) for t in reg.things}
    assert all((g, "street_lamp") in per_grid and (g, "manhole_cover") in per_grid for g in grids(demo))
    assert all(t.owner and t.maintainer and t.installed_on < TODAY and len(t.code) <= 40 for t in reg.things)


def test_organizations(reg: RegistryDemo) -> None:
    kinds = Counter(o.kind for o in reg.organizations)
    assert set(kinds) == set(ORGANIZATION_KINDS)
    assert sum(kinds[k] for k in SOCIAL) == SCALES["small"].social_organizations
    codes = [o.credit_code for o in reg.organizations if o.credit_code]
    assert len(codes) == len(set(codes))
    for o in reg.organizations:
        assert parse_mobile(o.contact_phone) == o.contact_phone and HAN.match(o.contact_name)
        assert o.staff_count >= 1 and o.address.startswith("吉州区")
        if o.credit_code is None:
            assert o.kind == "homeowners_committee"  # the only kind registered without one
            continue
        code = parse_credit_code(o.credit_code)
        assert code.region == "360802"
        expected = "5" if o.kind in SOCIAL else "Y" if o.kind == "homeowners_committee" else "9"
        assert code.department == expected  # civil affairs; other; market regulation
    # Every managed compound's company is an organization; every company manages a compound.
    companies = {o.name for o in reg.organizations if o.kind == "property_company"}
    assert companies == {c.property_company for c in reg.compounds if c.property_company}
    names = [o.name for o in reg.organizations]
    assert len(names) == len(set(names))


def test_deterministic_for_a_seed(demo: DemoDistrict) -> None:
    reg = build_registry(demo, "small", 2026, TODAY)
    assert build_registry(demo, "small", 2026, TODAY) == reg
    other = build_registry(demo, "small", 7, TODAY)
    assert [p.id_number for p in other.people] != [p.id_number for p in reg.people]
    with pytest.raises(ValueError, match="scale"):
        build_registry(demo, "city")


def test_loaded_rows_match_the_generated_ones(session: Session, demo: DemoDistrict) -> None:
    """On each database: counts, one head per household, encrypted personal data found by its blind index."""
    loaded = load_registry(session, demo, "small", today=TODAY)
    reg = build_registry(demo, "small", today=TODAY)
    generated = (len(reg.people), len(reg.households), len(reg.rooms), len(reg.tags), len(reg.organizations))
    assert (loaded.people, loaded.households, loaded.rooms, loaded.tags, loaded.organizations) == generated
    counts = tuple(session.scalar(select(func.count()).select_from(model))
                   for model in (Person, Household, Room, PersonTag, Organization))
    assert counts == generated
    per_grid = dict(session.execute(select(Person.grid_code, func.count()).group_by(Person.grid_code)).all())
    assert len(per_grid) == 12 and min(per_grid.values()) > 0
    heads = session.execute(select(Household.head_id, Person.id).join(
        Person, (Person.district_code == Household.district_code) & (Person.household_id == Household.id)
        & (Person.relation == HEAD))).all()
    assert len(heads) == len(reg.households) and all(h == p for h, p in heads)
    sample = next(p for p in reg.people if p.id_number and p.phone)
    index = id_number_index(sample.id_number)
    found = session.scalars(select(Person).where(Person.id_number_index == index)).all()
    assert [(p.name, p.id_number, p.phone) for p in found] == [(sample.name, sample.id_number, sample.phone)]
    by_phone = session.scalar(select(Person.id).where(Person.phone_index == phone_index(sample.phone)))
    assert by_phone == found[0].id
    # Ciphertext at rest: no ID number or phone in the raw columns.
    raw = session.execute(text("SELECT id_number, phone FROM people WHERE phone IS NOT NULL LIMIT 50")).all()
    assert raw and all(not re.search(r"\d{11}", f"{a}{b}") for a, b in raw)
    org = session.scalars(select(Organization).where(Organization.kind == "social_welfare")).first()
    assert org is not None and parse_mobile(org.contact_phone) == org.contact_phone
