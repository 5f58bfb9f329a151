"""Not visited in time: the sweep raises an alert on exactly day D + N + 1 for someone last visited on day D (not
on D + N), once however often it runs, writes in-app messages to the grid's lead and the community staff, and
the next visit resolves it once it is approved or confirmed. People not living alone are watched only with an
interval of their own."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.care import alerts, profiles, visits
from jiayuan.care.models import CareAlert
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.notify.models import OutboxMessage
from jiayuan.units import service as units
from tests.care.helpers import in_care, make_volunteer, paired, principal
from tests.conftest import page_login
from tests.personas import GRID_A, PERSONAS

N = 7  # the district's default (JIAYUAN_CARE_VISIT_DAYS)


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TIMEZONE)


def open_alerts(session: Session, person_id) -> list[CareAlert]:
    return list(session.scalars(select(CareAlert).where(CareAlert.person_id == person_id, CareAlert.open)))


def test_the_alert_fires_on_day_d_plus_n_plus_1_once_and_resolves_on_the_next_visit(session: Session) -> None:
    today = profiles.local_today()
    start = today - timedelta(days=40)
    profile = in_care(session, started=start)
    volunteer = make_volunteer(session)
    paired(session, profile, volunteer, started=start)
    staff = principal(session, "grid_a")
    d = start + timedelta(days=3)
    # At 01:00 on day D in Shanghai: still the day before in UTC, so counting UTC days would alert a day early.
    first = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": volunteer.id,
                                              "kind": "meals", "duration_minutes": 30, "visited_at": local(d, 1)},
                             now=local(d, 3))
    visits.approve_visit(session, staff, first.visit.id, now=local(d, 3))  # only a visit that counts is a visit
    for day in (d, d + timedelta(days=1), d + timedelta(days=N)):
        assert alerts.raise_alerts(session, day) == 0, day
        assert not open_alerts(session, profile.person_id)
    assert alerts.raise_alerts(session, d + timedelta(days=N + 1)) == 1
    [alert] = open_alerts(session, profile.person_id)
    assert alert.raised_on == d + timedelta(days=N + 1) and alert.days_without_visit == N + 1
    assert alert.grid_code == GRID_A and alert.last_visit_at is not None
    # Idempotent: again the same day, the next day, an hour later.
    assert alerts.raise_alerts(session, d + timedelta(days=N + 1)) == 0
    assert alerts.raise_alerts(session, d + timedelta(days=N + 2)) == 0
    assert len(open_alerts(session, profile.person_id)) == 1
    # In-app messages: the grid's lead and the community staff, once.
    messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.ref == f"care/{profile.id}")))
    lead = units.lead_of(session, GRID_A)
    community = principal(session, "community").user_id
    assert {m.user_id for m in messages} >= {lead, community}
    assert all(m.channel == "inapp" for m in messages)
    assert len(messages) == len({m.user_id for m in messages})
    assert "8 天未被探访" in messages[0].body
    # The next visit resolves it once it is approved (or confirmed); the sweep does not raise it again until N
    # more days have gone by.
    later = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": volunteer.id,
                                              "kind": "health", "duration_minutes": 20})
    assert len(open_alerts(session, profile.person_id)) == 1
    visits.approve_visit(session, staff, later.visit.id)
    assert not open_alerts(session, profile.person_id)
    resolved = session.scalar(select(CareAlert).where(CareAlert.person_id == profile.person_id))
    assert resolved.resolved_at is not None and resolved.open is False
    assert alerts.raise_alerts(session, today) == 0
    assert alerts.raise_alerts(session, today + timedelta(days=N + 1)) == 1


def test_never_visited_counts_from_the_start_of_care(session: Session) -> None:
    start = date(2026, 3, 2)
    profile = in_care(session, started=start)
    assert alerts.raise_alerts(session, start + timedelta(days=N)) == 0
    assert alerts.raise_alerts(session, start + timedelta(days=N + 1)) == 1
    [alert] = open_alerts(session, profile.person_id)
    assert alert.last_visit_at is None and alert.days_without_visit == N + 1


def test_who_is_watched_living_alone_or_an_interval_of_their_own(session: Session) -> None:
    start = date(2026, 3, 2)
    empty_nest = in_care(session, tags=("empty_nest",), started=start)
    own = in_care(session, tags=("empty_nest",), started=start)
    profiles.update_profile(session, principal(session, "grid_a"), own.id, {"visit_interval_days": 3})
    alone_slow = in_care(session, started=start)
    profiles.update_profile(session, principal(session, "grid_a"), alone_slow.id, {"visit_interval_days": 14})
    alerts.raise_alerts(session, start + timedelta(days=4))
    assert open_alerts(session, own.person_id) and not open_alerts(session, empty_nest.person_id)
    alerts.raise_alerts(session, start + timedelta(days=N + 1))
    assert not open_alerts(session, empty_nest.person_id) and not open_alerts(session, alone_slow.person_id)
    alerts.raise_alerts(session, start + timedelta(days=15))
    assert open_alerts(session, alone_slow.person_id)


def test_the_alert_shows_on_the_workbenches_in_scope(session: Session, client, api) -> None:
    profile = in_care(session, started=profiles.local_today() - timedelta(days=N + 1), name="独居张")
    alerts.raise_alerts(session, profiles.local_today())
    session.commit()
    mine = api("grid_a").get("/api/v1/care/alerts").json()
    assert str(profile.id) in {a["profile_id"] for a in mine["items"]}
    assert str(profile.id) not in {a["profile_id"] for a in api("grid_b").get("/api/v1/care/alerts").json()["items"]}
    assert api("community").get("/api/v1/care/alerts").json()["total"] >= 1
    listed = api("grid_a").get("/api/v1/care/profiles?alert=true").json()["items"]
    assert [p["id"] for p in listed if p["open_alert"]] == [p["id"] for p in listed]
    assert str(profile.id) in {p["id"] for p in listed}
    page_login(client, PERSONAS["grid_a"].username)
    home = client.get("/home").text
    assert 'id="care-alerts"' in home and "独居张" in home
