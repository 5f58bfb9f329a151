"""A small world for the fuzz and access-matrix tests: one record of each kind in grid A (the personas' own grid)
and, for the scope rows, the same kinds in grid B and in another community; a member provider with a staff account
and a volunteer with an account, so that those two roles can be signed in too. Everything is made through the
JSON API as the persona who would make it (or, for the provider and the volunteer, through the services), inside the
test's transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
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
    volunteer: str
    volunteer_user: str
    users: dict[str, Persona]

    def path_values(self) -> dict[str, list[str]]:
        """Real values for the OpenAPI's path parameters, by name, for the fuzzer."""
        a = self.a
        return {
            "code": [GRID_A, COMMUNITY], "unit_code": [GRID_A, COMMUNITY], "number": [a.case, self.order],
            "person_id": [a.person], "tag_id": [a.tag], "compound_id": [a.compound], "building_id": [a.building],
            "room_id": [a.room], "thing_id": [a.thing], "org_id": [a.organization], "kind": ["people"],
            "provider_id": [self.provider], "centre_id": [self.centre], "project_id": [a.project],
            "point_id": [a.produce_point], "user_id": [self.provider_user], "item": ["0201"],
            "volunteer_id": [self.volunteer], "id": [self.provider],
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
    session.commit()  # the savepoint: visible to the app's sessions, rolled back with the test
    lat, lon = point_in(api, GRID_A)
    start = utcnow() + timedelta(hours=2)
    order = created(api("resident").post(f"{S}/orders", json={
        "item": "0201", "address": "文山路 12 号", "lat": lat, "lon": lon, "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(), "notes": "厨房水管漏水"}))["number"]
    users = {"provider": Persona(PROVIDER_USER, "provider", staff.scope_code),
             "volunteer": Persona(VOLUNTEER_USER, "volunteer", volunteer.unit_code)}
    return World(a=a, b=b, other=other, centre=centre, other_centre=other_centre, provider=str(provider.id),
                 provider_user=str(staff.id), order=order, volunteer=str(volunteer.id),
                 volunteer_user=str(session.scalar(select(User.id).where(User.username == VOLUNTEER_USER))),
                 users=users)


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
