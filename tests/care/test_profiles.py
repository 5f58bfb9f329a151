"""People in care: a profile needs a care group, contacts are kept encrypted and shown masked, scope decides who
sees whom (a stranger's profile is a 404), and a registry move takes the care rows to the new grid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiayuan.care import alerts, profiles, visits
from jiayuan.care.models import CareAlert, CareProfile, Pairing, Visit
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.registry.service import people
from tests.care.helpers import VOLUNTEER_PASSWORD, in_care, make_person, make_volunteer, paired, principal
from tests.personas import GRID_A, GRID_B


def test_a_profile_needs_a_care_group(session: Session, api) -> None:
    nobody = make_person(session)
    alone = make_person(session, tags=("living_alone",))
    session.commit()
    r = api("grid_a").post("/api/v1/care/profiles", json={"person_id": str(nobody.id)})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "person_id" and "care group" in r.json()["message"]
    r = api("grid_a").post("/api/v1/care/profiles", json={
        "person_id": str(alone.id), "level": "high", "needs": ["meals", "health"],
        "contacts": [{"name": "李女儿", "relation": "女儿", "phone": "139 1234 5678"}]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["care_tags"] == ["living_alone"] and body["level"] == "high" and body["needs"] == ["meals", "health"]
    assert body["contacts"][0]["phone"] == "*******5678"
    assert body["card_token"] and len(body["card_token"]) >= 16
    again = api("grid_a").post("/api/v1/care/profiles", json={"person_id": str(alone.id)})
    assert again.status_code == 409 and again.json()["field"] == "person_id"


def test_aged_80_by_birth_date_is_a_care_group(session: Session) -> None:
    old = make_person(session, birth="19400101")
    young = make_person(session, birth="19800101")
    worker = principal(session, "grid_a")
    assert profiles.open_profile(session, worker, old.id).person_id == old.id
    with pytest.raises(Invalid) as refused:
        profiles.open_profile(session, worker, young.id)
    assert refused.value.field == "person_id"


def test_contact_phones_are_encrypted_at_rest_and_masked(session: Session, api) -> None:
    profile = in_care(session)
    session.commit()
    r = api("community").post(f"/api/v1/care/profiles/{profile.id}/contacts",
                              json={"name": "邻居王", "relation": "邻居", "phone": "0796-8220001"})
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == "*******0001"
    raw = session.execute(text("SELECT phone FROM care_contacts")).scalars().all()
    assert raw and not any("8220001" in value for value in raw)
    bad = api("community").post(f"/api/v1/care/profiles/{profile.id}/contacts", json={"name": "x", "phone": "12"})
    assert bad.status_code == 422 and bad.json()["field"] == "phone"


def test_scope_a_stranger_profile_is_not_found(session: Session, api) -> None:
    profile = in_care(session)
    session.commit()
    assert api("grid_a").get(f"/api/v1/care/profiles/{profile.id}").status_code == 200
    assert api("community").get(f"/api/v1/care/profiles/{profile.id}").status_code == 200
    assert api("street").get(f"/api/v1/care/profiles/{profile.id}").status_code == 200
    assert api("grid_b").get(f"/api/v1/care/profiles/{profile.id}").status_code == 404
    assert api("other_community").get(f"/api/v1/care/profiles/{profile.id}").status_code == 404
    assert api("resident").get(f"/api/v1/care/profiles/{profile.id}").status_code == 403
    assert api("hotline").get("/api/v1/care/profiles").status_code == 403
    ids = {p["id"] for p in api("grid_b").get("/api/v1/care/profiles").json()["items"]}
    assert str(profile.id) not in ids
    ids = {p["id"] for p in api("grid_a").get("/api/v1/care/profiles").json()["items"]}
    assert str(profile.id) in ids
    assert api("grid_b").post(f"/api/v1/care/profiles/{profile.id}/contacts",
                              json={"name": "x", "phone": "13900000000"}).status_code == 404


def test_a_volunteer_sees_only_the_people_they_are_paired_with(session: Session, client) -> None:
    from tests.conftest import api_token

    mine, other = in_care(session), in_care(session)
    volunteer = make_volunteer(session, username="care-vol-scope")
    paired(session, mine, volunteer)
    session.commit()
    headers = {"Authorization": f"Bearer {api_token(client, 'care-vol-scope', VOLUNTEER_PASSWORD)}"}
    listed = client.get("/api/v1/care/profiles", headers=headers).json()["items"]
    assert [p["id"] for p in listed] == [str(mine.id)]
    seen = client.get(f"/api/v1/care/profiles/{mine.id}", headers=headers).json()
    assert seen["card_token"] is None  # the card is read at the person's home, not from the API
    assert client.get(f"/api/v1/care/profiles/{other.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/care/alerts", headers=headers).status_code == 403
    assert client.post("/api/v1/care/profiles", headers=headers, json={"person_id": str(other.person_id)}
                       ).status_code == 403


def test_a_move_rehomes_the_care_rows(session: Session, api) -> None:
    today = profiles.local_today()
    profile = in_care(session, started=today - timedelta(days=30))
    volunteer = make_volunteer(session)
    pairing = paired(session, profile, volunteer, started=today - timedelta(days=30))
    staff = principal(session, "community")
    logged = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": volunteer.id,
                                               "kind": "meals", "duration_minutes": 30,
                                               "visited_at": utcnow() - timedelta(days=20)},
                              now=utcnow() - timedelta(days=19))  # logged the day after
    assert logged.visit.grid_code == GRID_A
    assert alerts.raise_alerts(session, today) >= 1
    people.move_person(session, principal(session, "grid_a"), profile.person_id, GRID_B)
    session.commit()
    for model in (CareProfile, Pairing, Visit):
        codes = set(session.scalars(select(model.grid_code).where(model.person_id == profile.person_id)))
        assert codes == {GRID_B}, model.__tablename__
    alert = session.scalar(select(CareAlert).where(CareAlert.person_id == profile.person_id, CareAlert.open))
    assert alert.grid_code == GRID_B
    assert api("grid_a").get(f"/api/v1/care/profiles/{profile.id}").status_code == 404
    assert api("grid_b").get(f"/api/v1/care/profiles/{profile.id}").json()["grid_code"] == GRID_B
    assert str(profile.id) in {a["profile_id"] for a in api("grid_b").get("/api/v1/care/alerts").json()["items"]}
    assert str(profile.id) not in {a["profile_id"] for a in api("grid_a").get("/api/v1/care/alerts").json()["items"]}
    assert pairing.id in {p.id for p in session.scalars(select(Pairing).where(Pairing.grid_code == GRID_B))}


def test_ending_care_ends_pairings_and_resolves_the_alert(session: Session) -> None:
    today = profiles.local_today()
    profile = in_care(session, started=today - timedelta(days=20))
    pairing = paired(session, profile, make_volunteer(session), started=today - timedelta(days=20))
    assert alerts.raise_alerts(session, today) >= 1
    profiles.end_profile(session, principal(session, "grid_a"), profile.id, "入住养老院")
    session.refresh(pairing)
    assert not pairing.active and pairing.end_reason == "入住养老院"
    assert session.scalar(select(CareAlert.open).where(CareAlert.person_id == profile.person_id)) is False
    with pytest.raises(Conflict):
        profiles.end_profile(session, principal(session, "grid_a"), profile.id)
    # Opened again later: the same profile, started anew.
    again = profiles.open_profile(session, principal(session, "grid_a"), profile.person_id)
    assert again.id == profile.id and again.ended_on is None and again.started_on == profiles.local_today()
