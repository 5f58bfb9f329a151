"""In a real browser on a phone-sized screen: a volunteer signs in, logs a visit to the old man they are paired
with (who he is, what was brought, how long, a note), types the code he read out (read here from the outbox, as
his phone would have received it), and the visit shows as confirmed."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from jiayuan.accounts.models import User
from jiayuan.accounts.service import principal_of
from jiayuan.care import profiles
from jiayuan.care.models import Visit
from jiayuan.kit.db import Database
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.service import rendered
from jiayuan.registry.service import people
from jiayuan.units.service import grids_of_user
from jiayuan.volunteers import service as volunteers
from tests.personas import GRID_A, PERSONAS

PHONE_SCREEN = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                "device_scale_factor": 2, "locale": "zh-CN"}
ROOT = Path(__file__).resolve().parents[2]
VOLUNTEER, PASSWORD = "care-visitor", "volunteer-pass-1"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JIAYUAN_SCREENSHOTS") or tmp_path_factory.mktemp("pages"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def pairing(server: tuple[str, Database]) -> str:
    """An old man living alone in grid A, in care, paired with a volunteer who has an account. Returns his name."""
    db = server[1]
    with db.unit_of_work() as s:
        user = s.scalar(select(User).where(User.username == PERSONAS["community"].username))
        staff = principal_of(user, grids_of_user(s, user.id))
        old = people.create_person(s, staff, {"name": "周大爷", "grid_code": GRID_A, "phone": "13907961234"})
        people.add_tag(s, staff, old.id, "living_alone", starts_on=date(2024, 1, 1))
        profile = profiles.open_profile(s, staff, old.id, level="high", needs=["meals", "companionship"])
        helper = people.create_person(s, staff, {"name": "刘晓红", "grid_code": GRID_A})
        volunteer = volunteers.create_volunteer(s, staff, {"person_id": helper.id, "username": VOLUNTEER,
                                                           "password": PASSWORD})
        profiles.pair(s, staff, profile.id, volunteer.id)
    return "周大爷"


def test_a_volunteer_logs_a_visit_and_confirms_it_with_the_code(server, browser, pairing, shots) -> None:
    base, db = server
    ctx = browser.new_context(**PHONE_SCREEN)
    page = ctx.new_page()
    page.goto(f"{base}/care/visits/new")
    page.fill("input[name=username]", VOLUNTEER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/care/visits/new")

    # Only one person is paired: already chosen. What was brought, how long, a note.
    assert page.locator("input[name=pairing_id]:checked").count() == 1
    assert pairing in page.inner_text(".big-choices")
    page.click("label.big-choice:has(input[value=meals])")
    page.click("label.big-choice:has(input[name=duration][value='90'])")
    page.fill("textarea[name=notes]", "送午饭，陪大爷聊了一会儿，血压正常")
    page.screenshot(path=str(shots / "care-visit.png"), full_page=True)
    if os.environ.get("JIAYUAN_SCREENSHOTS"):
        shutil.copy(shots / "care-visit.png", ROOT / "docs" / "screenshots" / "care-visit.png")
    page.click("button[type=submit].huge")
    page.wait_for_url(re.compile(r".*/care/visits/[0-9a-f-]{36}$"))
    visit_id = page.url.rsplit("/", 1)[1]
    assert page.get_attribute("#visit-state", "data-state") == "waiting"
    assert "待确认" in page.inner_text("#visit-state")  # logged, not yet counted
    assert "*******1234" in page.inner_text("#code")
    with db.sessions() as s:
        logged = s.scalar(select(Visit).where(Visit.id == uuid.UUID(visit_id)))
        assert volunteers.balance_minutes(s, logged.district_code, logged.volunteer_id) == 0

    # The code as his phone received it.
    with db.sessions() as s:
        body = rendered(s.scalar(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{visit_id}")))
    code = re.search(r"确认码是 (\d{4})", body).group(1)
    page.screenshot(path=str(shots / "care-visit-code.png"), full_page=True)
    page.fill("#code-input", code)
    page.click("#code button[type=submit]")
    page.wait_for_selector("#visit-state[data-state=confirmed]")
    assert "已确认" in page.inner_text("#visit-state")
    assert "通过确认码" in page.inner_text("#visit-state")
    page.screenshot(path=str(shots / "care-visit-confirmed.png"), full_page=True)
    if os.environ.get("JIAYUAN_SCREENSHOTS"):
        shutil.copy(shots / "care-visit-confirmed.png", ROOT / "docs" / "screenshots" / "care-visit-confirmed.png")
    with db.sessions() as s:
        visit = s.scalar(select(Visit).where(Visit.id == uuid.UUID(visit_id)))
        assert visit.confirm_method == "code" and visit.duration_minutes == 90 and visit.confirmed_at is not None
        assert volunteers.balance_minutes(s, visit.district_code, visit.volunteer_id) == 90

    # The volunteer's own page lists him and the confirmed visit.
    page.goto(f"{base}/care")
    assert pairing in page.inner_text("main") and "已确认" in page.inner_text("main")
    ctx.close()
