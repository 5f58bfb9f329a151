"""A small world for the fuzz and access-matrix tests: one record of each kind in grid A (the personas' own grid)
and, for the scope rows, the same kinds in grid B and in another community; a member provider with a staff account
and a volunteer with an account, so that those two roles can be signed in too. Everything is made through the
JSON API as the persona who would make it (or, for the provider, the volunteer and the volunteer's household,
through the services), inside the test's transaction.

Neighbourhood care (docs/care.md): the person of each place is taken into care; the world's volunteer (serving the
personas' community) is paired with grid A's and has logged a visit there, and a volunteer of the other community
(without an account) with its person; each community has a care centre, a charity supermarket, a volunteer
opportunity and an activity (the personas' public, the other community's not). The volunteer's household lives in
grid A: four hours of the visit (approved by grid A's worker) became 40 points there, and the supermarket holds 10 bags of the district's one
item (10 points a bag), so that four redemptions of one bag succeed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from tests.cases.helpers import point_in
from tests.conftest import ApiUser
from tests.personas import COMMUNITY, GRID_A, GRID_B, PERSONAS, Persona
from tests.registry.helpers import id_number
from tests.services.helpers import make_provider, make_staff

R, S = "/api/v1/registry", "/api/v1/services"
OTHER_COMMUNITY = PERSONAS["other_community"].scope
STREET = COMMUNITY[:9]
PROVIDER_USER = "fuzz-provider"
VOLUNTEER_USER = "fuzz-volunteer"
# A fake person whose ID number and phone the log scan must never find in a log (valid check character).
PERSON_ID_NUMBER = id_number(731, birth="19560312")
PERSON_PHONE = "13970001234"


def created(r: Any, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


@dataclass
class Place:
    """The records of one place (grid A, grid B or the other community)."""

    grid: str
    person: str = ""
    tag: str = ""
    case: str = ""
    compound: str = ""
    building: str = ""
    room: str = ""
    thing: str = ""
    organization: str = ""
    project: str = ""
    produce_point: str = ""
    care_profile: str = ""  # the place's person, in care
    visit: str = ""  # a visit to them (grid A: by the world's volunteer, approved; the other community: by its
    # volunteer, pending)
    pending_visit: str = ""  # grid A: an earlier visit by the world's volunteer, awaiting confirmation
    volunteer: str = ""  # the other community's volunteer, paired with its person in care
    care_centre: str = ""  # a day-care centre of the community (grid A: the personas' community)
    supermarket: str = ""  # the community's charity supermarket
    household: str = ""  # grid A: the volunteer's household, with 40 points at the supermarket
    opportunity: str = ""  # a volunteer opportunity of the community, upcoming
    activity: str = ""  # an upcoming activity of the community: public (grid A), not public (the other community)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    a: Place
    b: Place
    other: Place
    centre: str  # a service centre of the personas' street
    other_centre: str  # one of another street
    provider: str  # active member provider serving grid A, with PROVIDER_USER as its staff
    provider_user: str
    order: str  # a resident's order in grid A, offered to the provider
    volunteer: str  # serves the personas' community, paired with grid A's person in care
    volunteer_user: str
    users: dict[str, Persona]
    item: str = ""  # the district's charity item (a bag of rice, 10 points)

    def path_values(self) -> dict[str, list[str]]:
        """Real values for the OpenAPI's path parameters, by name, for the fuzzer."""
        a = self.a
        return {
            "code": [GRID_A, COMMUNITY], "unit_code": [GRID_A, COMMUNITY], "number": [a.case, self.order],
            "person_id": [a.person], "tag_id": [a.tag], "compound_id": [a.compound], "building_id": [a.building],
            "room_id": [a.room], "thing_id": [a.thing], "org_id": [a.organization], "kind": ["people"],
            "provider_id": [self.provider], "centre_id": [self.centre, a.care_centre], "project_id": [a.project],
            "point_id": [a.produce_point], "user_id": [self.provider_user], "item": ["0201"],
            "volunteer_id": [self.volunteer], "id": [self.provider],
            "profile_id": [a.care_profile], "visit_id": [a.visit], "supermarket_id": [a.supermarket],
            "item_id": [self.item], "household_id": [a.household], "opportunity_id": [a.opportunity],
            "activity_id": [a.activity],
        }


def _place(api: Any, who: str, grid: str, n: int) -> Place:
    """Registry records, a tagged person and a case in `grid`, made by `who` (its grid worker or community staff)."""
    u = api(who)
    p = Place(grid=grid)
    ident = {"id_number": PERSON_ID_NUMBER, "phone": PERSON_PHONE} if n == 1 else {
        "id_number": id_number(700 + n, birth="19600101"), "phone": f"1397000{n:04d}"}
    person = created(u.post(f"{R}/people", json={"name": f"测试居民{n}", "grid_code": grid, **ident}))
    p.person = person["id"]
    p.tag = created(u.post(f"{R}/people/{p.person}/tags", json={"tag": "living_alone"}))["id"]
    p.compound = created(u.post(f"{R}/compounds", json={"name": f"测试小区{n}", "grid_code": grid}))["id"]
    p.building = created(u.post(f"{R}/buildings", json={"compound_id": p.compound, "name": "1栋", "floors": 6}))["id"]
    p.room = created(u.post(f"{R}/rooms", json={"building_id": p.building, "number": "101", "use": "rented"}))["id"]
    p.thing = created(u.post(f"{R}/things", json={"kind": "street_lamp", "grid_code": grid,
                                                    "code": f"FZ-{n}-{uuid.uuid4().hex[:6]}"}))["id"]
    p.organization = created(u.post(f"{R}/organizations", json={
        "kind": "homeowners_committee", "name": f"测试业委会{n}", "grid_code": grid}))["id"]
    lat, lon = point_in(api, grid)
    p.case = created(api("resident").post("/api/v1/cases", json={
        "category": "1101", "description": "路边有一堆暴露垃圾，气味很大", "lat": lat, "lon": lon}))["number"]
    return p


def build_world(api: Any, client: Any, session: Session) -> World:
    a = _place(api, "grid_a", GRID_A, 1)
    b = _place(api, "grid_b", GRID_B, 2)
    other = _place(api, "other_community", grid_of(api, OTHER_COMMUNITY), 3)
    for place, who, community in ((a, "community", COMMUNITY), (other, "other_community", OTHER_COMMUNITY)):
        place.project = created(api(who).post(f"{S}/projects", json={
            "unit_code": community, "name": f"测试项目{uuid.uuid4().hex[:4]}", "target_tags": ["living_alone"]}))["id"]
        place.produce_point = created(api(who).post(f"{S}/produce-points", json={
            "unit_code": community, "name": f"测试农超对接点{uuid.uuid4().hex[:4]}"}))["id"]
    week = {"1": [["08:00", "18:00"]]}
    centre = created(api("street").post(f"{S}/centres", json={
        "unit_code": STREET, "kind_code": "culture", "name": "测试文化中心", "weekly_hours": week}))["id"]
    other_street = next(s for s in api("admin").get("/api/v1/units", params={"level": "street"}).json()
                        if s["code"] != STREET)["code"]
    other_centre = created(api("admin").post(f"{S}/centres", json={
        "unit_code": other_street, "kind_code": "culture", "name": "外街道文化中心", "weekly_hours": week}))["id"]

    provider = make_provider(session, "测试家政公司", items={"0201": 8000}, areas=(GRID_A,))
    staff = make_staff(session, provider, PROVIDER_USER)
    volunteer = _volunteer(session)
    household = _household(session, volunteer.person_id)
    session.commit()  # the savepoint: visible to the app's sessions, rolled back with the test
    lat, lon = point_in(api, GRID_A)
    start = utcnow() + timedelta(hours=2)
    order = created(api("resident").post(f"{S}/orders", json={
        "item": "0201", "address": "文山路 12 号", "lat": lat, "lon": lon, "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(), "notes": "厨房水管漏水"}))["number"]
    users = {"provider": Persona(PROVIDER_USER, "provider", staff.scope_code),
             "volunteer": Persona(VOLUNTEER_USER, "volunteer", volunteer.unit_code)}
    w = World(a=a, b=b, other=other, centre=centre, other_centre=other_centre, provider=str(provider.id),
              provider_user=str(staff.id), order=order, volunteer=str(volunteer.id),
              volunteer_user=str(session.scalar(select(User.id).where(User.username == VOLUNTEER_USER))),
              users=users)
    a.household = household
    _care(api, as_persona(client, users["volunteer"]), w)
    return w


def _care(api: Any, volunteer: ApiUser, w: World) -> None:
    """Neighbourhood care, each record made by whom it would be: the workers of grids A and B (and the other
    community's staff) take their people into care; community staff pair them, open the centres, supermarkets,
    opportunities and activities; the world's volunteer logs their own visit."""
    C, V = "/api/v1/care", "/api/v1/volunteers"
    a, other = w.a, w.other
    for place, who in ((a, "grid_a"), (w.b, "grid_b"), (other, "other_community")):
        place.care_profile = created(api(who).post(f"{C}/profiles", json={"person_id": place.person}))["id"]
    helper = created(api("other_community").post(f"{R}/people", json={"name": "测试义工3",
                                                                      "grid_code": other.grid}))
    other.volunteer = created(api("other_community").post(V, json={"person_id": helper["id"],
                                                                     "team_code": "orange"}))["id"]
    # Paired three days ago, so that visits of the last days (each role's, at a time of its own) are not refused.
    since = (local_today() - timedelta(days=3)).isoformat()
    created(api("community").post(f"{C}/pairings", json={"profile_id": a.care_profile, "volunteer_id": w.volunteer,
                                                          "started_on": since}))
    created(api("other_community").post(f"{C}/pairings", json={"profile_id": other.care_profile,
                                                               "volunteer_id": other.volunteer, "started_on": since}))
    a.visit = created(volunteer.post(f"{C}/visits", json={"person_id": a.person, "kind": "companionship",
                                                          "duration_minutes": 240}))["id"]
    created(api("grid_a").post(f"{C}/visits/{a.visit}/approve"), 200)  # its hours count from now on
    a.pending_visit = created(volunteer.post(f"{C}/visits", json={
        "person_id": a.person, "kind": "meals", "duration_minutes": 30,
        "visited_at": (utcnow() - timedelta(days=1)).isoformat()}))["id"]
    other.visit = created(api("other_community").post(f"{C}/visits", json={
        "person_id": other.person, "volunteer_id": other.volunteer, "kind": "meals", "duration_minutes": 60}))["id"]
    start = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    when = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}
    for place, who, community, public in ((a, "community", COMMUNITY, True),
                                          (other, "other_community", OTHER_COMMUNITY, False)):
        u = api(who)
        place.care_centre = created(u.post(f"{C}/centres", json={"unit_code": community, "kind": "day_care",
                                                                 "name": "测试日间照料中心"}))["id"]
        place.supermarket = created(u.post("/api/v1/charity/supermarkets", json={
            "unit_code": community, "name": "测试爱心超市"}))["id"]
        place.opportunity = created(u.post(f"{V}/opportunities", json={
            "unit_code": community, "title": "测试助老服务", "slots": 5, **when}))["id"]
        place.activity = created(u.post("/api/v1/activities", json={
            "unit_code": community, "kind": "culture", "title": "测试文艺活动", "organizer": "社区居委会",
            "place": "社区活动室", "public": public, **when}))["id"]
    staff = api("community")
    w.item = created(staff.post("/api/v1/charity/items", json={"name": "测试大米", "unit": "袋", "points": 10}))["id"]
    market = f"/api/v1/charity/supermarkets/{a.supermarket}"
    created(staff.post(f"{market}/donations", json={"kind": "goods", "item_id": w.item, "quantity": 10,
                                                    "value_fen": 5000}))
    created(staff.post("/api/v1/charity/conversions", json={"volunteer_id": w.volunteer, "hours": 4,
                                                            "idempotency_key": "world-conversion"}))


def _household(session: Session, head: uuid.UUID) -> str:
    """The volunteer's household in grid A, the volunteer its head (households have no JSON API)."""
    from jiayuan.registry.service import people
    from tests.volunteers.helpers import principal

    who = principal(session, "community")
    household = people.create_household(session, who, GRID_A, number="9100001")
    people.add_member(session, who, head, household.id, "户主", head=True)
    return str(household.id)


def grid_of(api: Any, community: str) -> str:
    return next(u["code"] for u in api("admin").get("/api/v1/units", params={"parent": community}).json()
                if u["level"] == "grid")


def _volunteer(session: Session) -> Any:
    from tests.services.helpers import _password_hash
    from tests.volunteers.helpers import make_volunteer

    volunteer = make_volunteer(session, username=VOLUNTEER_USER, team="orange")
    user = session.scalar(select(User).where(User.username == VOLUNTEER_USER))
    user.password_hash = _password_hash()  # the demo password, as every persona's
    session.flush()
    return volunteer


def as_persona(client: Any, persona: Persona) -> ApiUser:
    return ApiUser(client, persona)
