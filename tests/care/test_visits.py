"""Pairings and visits: one active pairing per volunteer and person (the service says 409, the database refuses
it too), a visit only for an active pairing, its minutes credited once it is confirmed, and confirmation by the
code read out (right, wrong, expired, locked) or by the person's QR card. Hours only for confirmed work, overlaps,
the day's hours and backdating: test_confirmed_hours.py."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.care import profiles, visits
from jiayuan.care.models import Pairing, Visit
from jiayuan.kit.db import utcnow
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.service import rendered
from jiayuan.volunteers import service as volunteers
from tests.care.helpers import VOLUNTEER_PASSWORD, in_care, make_volunteer, paired, principal
from tests.conftest import api_token


def volunteer_api(client, username: str):
    headers = {"Authorization": f"Bearer {api_token(client, username, VOLUNTEER_PASSWORD)}"}

    class As:
        def get(self, url: str, **kw):
            return client.get(url, headers=headers, **kw)

        def post(self, url: str, **kw):
            return client.post(url, headers=headers, **kw)

    return As()


def sent_code(session: Session, visit_id: str) -> str:
    """The code as the person's phone will read it (the outbox keeps it apart from the text until it is sent)."""
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{visit_id}"))
    return re.search(r"确认码是 (\d{4})", rendered(message)).group(1)


@pytest.fixture
def pair_of(session: Session, client):
    """A person living alone in grid A and a volunteer with an account, paired since a week ago."""
    profile = in_care(session, started=profiles.local_today() - timedelta(days=7))
    volunteer = make_volunteer(session, username="care-vol")
    pairing = paired(session, profile, volunteer, started=profiles.local_today() - timedelta(days=7))
    session.commit()
    return profile, volunteer, pairing, volunteer_api(client, "care-vol")


def test_a_second_active_pairing_is_409_and_the_index_refuses_it(session: Session, api, pair_of) -> None:
    profile, volunteer, pairing, _ = pair_of
    r = api("community").post("/api/v1/care/pairings", json={"profile_id": str(profile.id),
                                                            "volunteer_id": str(volunteer.id)})
    assert r.status_code == 409 and r.json()["field"] == "volunteer_id"
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Pairing(district_code=pairing.district_code, person_id=pairing.person_id,
                            volunteer_id=volunteer.id, grid_code=pairing.grid_code, started_on=pairing.started_on,
                            active=True))
        session.flush()
    # Ended, the pair may be paired again; a volunteer may have several people, a person several volunteers.
    r = api("community").post(f"/api/v1/care/pairings/{pairing.id}/end", json={"reason": "志愿者搬走"})
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["end_reason"] == "志愿者搬走"
    r = api("community").post("/api/v1/care/pairings", json={"profile_id": str(profile.id),
                                                            "volunteer_id": str(volunteer.id)})
    assert r.status_code == 201, r.text
    second = make_volunteer(session)
    session.commit()
    r = api("grid_a").post("/api/v1/care/pairings", json={"profile_id": str(profile.id),
                                                         "volunteer_id": str(second.id)})
    assert r.status_code == 201, r.text
    names = {p["volunteer_id"] for p in api("grid_a").get(f"/api/v1/care/pairings?profile_id={profile.id}").json()}
    assert names == {str(volunteer.id), str(second.id)}


def test_a_visit_for_an_unpaired_volunteer_is_409(session: Session, client, pair_of) -> None:
    _profile, _volunteer, _pairing, vol = pair_of
    stranger = in_care(session)
    session.commit()
    r = vol.post("/api/v1/care/visits", json={"person_id": str(stranger.person_id), "kind": "meals",
                                              "duration_minutes": 30})
    assert r.status_code == 409 and r.json()["field"] == "person_id"
    # Nor another volunteer's visits or pairings.
    other = make_volunteer(session, username="care-vol-2")
    session.commit()
    r = volunteer_api(client, "care-vol-2").post("/api/v1/care/visits", json={
        "person_id": str(_profile.person_id), "kind": "meals", "duration_minutes": 30})
    assert r.status_code == 409
    assert other.id


def test_a_visit_sends_a_code_and_credits_its_minutes_once_confirmed(session: Session, pair_of) -> None:
    profile, volunteer, pairing, vol = pair_of
    r = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "housekeeping",
                                              "duration_minutes": 45, "notes": "打扫厨房"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code_state"] == "waiting" and body["code_sent_to"] == "*******8000"
    assert body["pairing_id"] == str(pairing.id) and body["confirmed_at"] is None
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 0
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{body['id']}"))
    assert message.channel == "sms" and message.recipient == "13800138000"
    code = sent_code(session, body["id"])
    stored = session.scalar(select(Visit.confirm_code_hash).where(Visit.id == uuid.UUID(body["id"])))
    assert stored and code not in stored and len(stored) == 64
    assert vol.post(f"/api/v1/care/visits/{body['id']}/confirm", json={"code": code}).status_code == 200
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 45


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "dancing"}, "kind"), ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": 601}, "duration_minutes"), ({"visited_at": "2999-01-01T10:00:00+08:00"}, "visited_at"),
    ({"lat": 27.1}, "lon")])
def test_bad_visits_name_the_field(session: Session, pair_of, change: dict, field: str) -> None:
    profile, _v, _p, vol = pair_of
    r = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "meals",
                                              "duration_minutes": 30, **change})
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def earlier(hours: int) -> str:
    """A visit begun `hours` ago (a volunteer's visits may not overlap)."""
    return (utcnow() - timedelta(hours=hours)).isoformat()


def test_code_confirmation_right_wrong_expired_locked(session: Session, pair_of) -> None:
    profile, _v, _p, vol = pair_of
    hours = iter(range(2, 20, 2))

    def log() -> str:
        r = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "meals",
                                                  "duration_minutes": 30, "visited_at": earlier(next(hours))})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    # Wrong, then right.
    first = log()
    code = sent_code(session, first)
    wrong = f"{(int(code) + 1) % 10000:04d}"
    r = vol.post(f"/api/v1/care/visits/{first}/confirm", json={"code": wrong})
    assert r.status_code == 422 and r.json()["details"]["tries_left"] == 4
    r = vol.post(f"/api/v1/care/visits/{first}/confirm", json={"code": code})
    assert r.status_code == 200 and r.json()["confirm_method"] == "code" and r.json()["code_state"] == "confirmed"
    again = vol.post(f"/api/v1/care/visits/{first}/confirm", json={"code": code})
    assert again.status_code == 409

    # Five wrong tries lock the code: the right one no longer works, the card still does.
    second = log()
    code = sent_code(session, second)
    wrong = f"{(int(code) + 1) % 10000:04d}"
    for left in (4, 3, 2, 1, 0):
        r = vol.post(f"/api/v1/care/visits/{second}/confirm", json={"code": wrong})
        assert r.status_code == 422 and r.json()["details"]["tries_left"] == left
    r = vol.post(f"/api/v1/care/visits/{second}/confirm", json={"code": code})
    assert r.status_code == 409 and "locked" in r.json()["message"]
    assert session.scalar(select(Visit.confirm_attempts).where(Visit.id == uuid.UUID(second))) == 5

    # After 24 hours the code has expired.
    third = log()
    code = sent_code(session, third)
    session.execute(update(Visit).where(Visit.id == uuid.UUID(third))
                    .values(created_at=utcnow() - timedelta(hours=24, minutes=1)))
    session.commit()
    r = vol.post(f"/api/v1/care/visits/{third}/confirm", json={"code": code})
    assert r.status_code == 409 and "expired" in r.json()["message"]
    assert vol.get(f"/api/v1/care/visits/{third}").json()["code_state"] == "expired"

    # Not four digits: said, and no try is taken.
    fourth = log()
    r = vol.post(f"/api/v1/care/visits/{fourth}/confirm", json={"code": "12a4"})
    assert r.status_code == 422 and r.json()["field"] == "code"
    assert session.scalar(select(Visit.confirm_attempts).where(Visit.id == uuid.UUID(fourth))) == 0


def test_qr_card_confirmation(session: Session, api, pair_of) -> None:
    profile, _v, _p, vol = pair_of
    other = in_care(session)
    session.commit()
    visit = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "health",
                                                  "duration_minutes": 20}).json()["id"]
    r = vol.post(f"/api/v1/care/visits/{visit}/confirm", json={"card_token": other.card_token})
    assert r.status_code == 422 and r.json()["field"] == "card_token"
    # Typed by hand from the card: in its groups, in lower case, an O for a 0 and an l for a 1.
    assert set(profile.card_token) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") and len(profile.card_token) == 16
    typed = "-".join(profile.card_token[i:i + 4] for i in range(0, 16, 4)).lower().replace("0", "o").replace("1", "l")
    r = vol.post(f"/api/v1/care/visits/{visit}/confirm", json={"card_token": typed})
    assert r.status_code == 200, r.text
    assert r.json()["confirm_method"] == "qr" and r.json()["confirmed_at"]
    # A new card makes the old one useless.
    token = api("community").post(f"/api/v1/care/profiles/{profile.id}/card").json()["card_token"]
    assert token != profile.card_token
    later = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "health",
                                                  "duration_minutes": 20, "visited_at": earlier(2)}).json()["id"]
    assert vol.post(f"/api/v1/care/visits/{later}/confirm", json={"card_token": profile.card_token}
                    ).status_code == 422


def test_a_volunteer_confirms_only_for_an_active_pairing(session: Session, api, pair_of) -> None:
    profile, _v, pairing, vol = pair_of
    visit = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "meals",
                                                  "duration_minutes": 30}).json()["id"]
    code = sent_code(session, visit)
    api("community").post(f"/api/v1/care/pairings/{pairing.id}/end", json={"reason": "结束"})
    r = vol.post(f"/api/v1/care/visits/{visit}/confirm", json={"code": code})
    assert r.status_code == 409 and r.json()["field"] == "visit_id"
    r = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "meals",
                                              "duration_minutes": 30})
    assert r.status_code == 409


def test_staff_log_for_a_volunteer_and_scope_holds(session: Session, api, pair_of) -> None:
    profile, volunteer, _p, _vol = pair_of
    r = api("grid_a").post("/api/v1/care/visits", json={"person_id": str(profile.person_id),
                                                        "volunteer_id": str(volunteer.id), "kind": "companionship",
                                                        "duration_minutes": 60})
    assert r.status_code == 201, r.text
    visit = r.json()["id"]
    assert api("grid_b").get(f"/api/v1/care/visits/{visit}").status_code == 404
    assert api("grid_b").post("/api/v1/care/visits", json={"person_id": str(profile.person_id),
                                                           "volunteer_id": str(volunteer.id), "kind": "other",
                                                           "duration_minutes": 60}).status_code == 404
    listed = api("community").get(f"/api/v1/care/visits?profile_id={profile.id}").json()
    assert listed["total"] == 1 and listed["items"][0]["person_name"]
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 0  # until approved
    assert api("grid_b").post(f"/api/v1/care/visits/{visit}/approve").status_code == 404
    assert api("grid_a").post(f"/api/v1/care/visits/{visit}/approve").status_code == 200
    assert volunteers.balance_minutes(session, volunteer.district_code, volunteer.id) == 60


def test_photos_of_a_visit_not_saved_leave_no_file(session: Session, pair_of, settings, tmp_path) -> None:
    """A visit form's attempt runs in a savepoint: when a later step of it fails, the photos it stored go again."""
    from io import BytesIO

    from PIL import Image

    profile, volunteer, _p, _vol = pair_of
    settings.var_dir = tmp_path
    buf = BytesIO()
    Image.new("RGB", (80, 60), "red").save(buf, "JPEG")
    visit = {"person_id": profile.person_id, "volunteer_id": volunteer.id, "kind": "meals", "duration_minutes": 30}
    with pytest.raises(RuntimeError), session.begin_nested():
        visits.log_visit(session, principal(session, "grid_a"), visit, photos=[buf.getvalue()], settings=settings)
        raise RuntimeError("a later step of the same attempt failed")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_photos_of_a_visit_are_stored_like_case_photos(session: Session, pair_of, settings, tmp_path) -> None:
    from io import BytesIO

    from PIL import Image

    profile, _v, _p, _vol = pair_of
    settings.var_dir = tmp_path
    buf = BytesIO()
    Image.new("RGB", (800, 600), "red").save(buf, "JPEG")
    staff = principal(session, "grid_a")
    logged = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": _v.id,
                                               "kind": "meals", "duration_minutes": 30},
                              photos=[buf.getvalue()], settings=settings)
    rows = visits.photos_of(session, [logged.visit])[logged.visit.id]
    assert len(rows) == 1 and rows[0].key.startswith("care/360802/") and rows[0].width == 800
    assert (tmp_path / "uploads" / rows[0].thumb_key).exists()
    with pytest.raises(Exception) as too_many:
        visits.attach_photos(session, settings, logged.visit, [buf.getvalue()] * 3)
    assert getattr(too_many.value, "field", None) == "photos"


def test_a_card_printed_with_an_older_token_still_confirms(session: Session, api, pair_of) -> None:
    """Cards the platform printed before the Crockford alphabet hold 32 lower-case hex characters (the demo's did):
    scanned as printed, or typed in capitals, they confirm the visit."""
    profile, _v, _p, vol = pair_of
    profile.card_token = "3f9a0c1be47d2a6f8e0b5c9d1a7e4f20"
    session.commit()
    for hours, typed in ((5, "3f9a0c1be47d2a6f8e0b5c9d1a7e4f20"), (3, "3F9A 0C1B E47D 2A6F 8E0B 5C9D 1A7E 4F20")):
        visit = vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "health",
                                                      "duration_minutes": 20, "visited_at": earlier(hours)}
                         ).json()["id"]
        r = vol.post(f"/api/v1/care/visits/{visit}/confirm", json={"card_token": typed})
        assert r.status_code == 200, r.text
        assert r.json()["confirm_method"] == "qr"
