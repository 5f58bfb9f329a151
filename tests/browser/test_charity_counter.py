"""In a real browser at a desk: community staff open the charity supermarket's counter, find a household with
points by its head's name, pick two items (the total and what is left are worked out as they type), redeem,
and see the receipt with the new balance and what is left on the shelf; back at the household, the counter shows
the same."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jiayuan.charity import points, service, stock
from jiayuan.charity.models import PointsEntry, Redemption, StockEntry
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import Database
from jiayuan.registry.service import people
from jiayuan.volunteers import service as volunteers
from tests.charity.helpers import staff
from tests.personas import COMMUNITY, GRID_A, PERSONAS

DESK_SCREEN = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
ROOT = Path(__file__).resolve().parents[2]
HEAD = "欧阳桂英"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JIAYUAN_SCREENSHOTS") or tmp_path_factory.mktemp("pages"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def market(server: tuple[str, Database]) -> dict:
    """The community's supermarket (the demo's, or opened here), toothpaste and cooking oil on its shelves, and a
    household of three whose head, a volunteer, has just turned 6 hours of service into 60 points."""
    db = server[1]
    with db.unit_of_work() as s:
        who = staff(COMMUNITY)
        sm = service.supermarket_of_community(s, "360802", COMMUNITY) or service.create_supermarket(
            s, who, unit_code=COMMUNITY, name="文化社区爱心超市", address="文化路8号")
        have = {i.name: i for i in service.list_items(s, who)}
        items = {}
        for name, unit, price in (("牙膏", "支", 4), ("食用油（1.8升）", "瓶", 25)):
            item = have.get(name) or service.create_item(s, who, name=name, unit=unit, points=price, category="日用品")
            stock.record_donation(s, who, sm.id, kind="goods", donor_name="爱心企业", item_id=item.id, quantity=10,
                                  value_fen=10 * 500)
            items[name] = (item.id, item.points)
        household = people.create_household(s, who, GRID_A, number="8800001")
        head = people.create_person(s, who, {"name": HEAD, "grid_code": GRID_A})
        people.add_member(s, who, head.id, household.id, "户主", head=True)
        for name in ("欧阳明", "欧阳小雨"):
            member = people.create_person(s, who, {"name": name, "grid_code": GRID_A})
            people.add_member(s, who, member.id, household.id, "子女")
        volunteer = volunteers.create_volunteer(s, who, {"person_id": head.id})
        volunteers.credit_hours(s, volunteer.id, "360802", 360, "service", "browser_test", uuid.uuid4())
        points.convert_hours(s, who, volunteer.id, 6)
        on_hand = stock.on_hand(s, sm, [i for i, _ in items.values()])
    return {"id": sm.id, "household": household.id, "items": items, "on_hand": on_hand}


def test_staff_redeem_two_items_at_the_counter(server, browser, market, shots) -> None:
    base, db = server
    counter = f"{base}/charity/{market['id']}/counter"
    context = browser.new_context(**DESK_SCREEN)
    page = context.new_page()
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(counter)
    page.fill("input[name=username]", PERSONAS["community"].username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(counter)

    page.fill("input[name=q]", HEAD)
    page.click("form[role=search] button[type=submit]")
    row = page.locator(".household-row", has_text=HEAD)
    assert "60" in row.locator(".pts").inner_text()
    row.click()
    page.wait_for_selector("#redeem-form")
    assert page.inner_text("#balance").strip() == "60"
    (paste, paste_points), (oil, oil_points) = market["items"]["牙膏"], market["items"]["食用油（1.8升）"]
    cost = 2 * paste_points + oil_points
    page.fill(f"#qty_{paste}", "2")
    page.fill(f"#qty_{oil}", "1")
    assert page.inner_text("#total").strip() == str(cost)
    assert page.inner_text("#after").strip() == str(60 - cost)
    page.screenshot(path=str(shots / "charity-counter.png"), full_page=True)
    if os.environ.get("JIAYUAN_SCREENSHOTS"):
        shutil.copy(shots / "charity-counter.png", ROOT / "docs" / "screenshots" / "charity-counter.png")
    # A full-page screenshot resizes the window and back; the page settles its scroll position at the next focus
    # change, which would move the button from under the pointer between mouse down and up.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.locator("#redeem-button").scroll_into_view_if_needed()

    page.click("#redeem-button")
    page.wait_for_url(re.compile(r".*/receipts/.*"))
    assert page.inner_text("#balance-after").strip() == str(60 - cost)
    lines = page.inner_text(".receipt-lines")
    assert "牙膏" in lines and "食用油" in lines and str(cost) in lines
    paste_left, oil_left = market["on_hand"][paste] - 2, market["on_hand"][oil] - 1
    left = [cell.strip().replace(",", "") for cell in page.locator(".stock-left").all_inner_texts()]
    assert sorted(left) == sorted([str(paste_left), str(oil_left)])
    page.screenshot(path=str(shots / "charity-receipt.png"), full_page=True)

    page.click("text=返回该户")
    page.wait_for_selector("#redeem-form")
    assert page.inner_text("#balance").strip() == str(60 - cost)
    assert page.locator(f"#qty_{paste}").get_attribute("max") == str(paste_left)
    assert page.locator(f"#qty_{oil}").get_attribute("max") == str(oil_left)
    context.close()
    assert not missing, missing  # every script, style and page the counter needs was there

    with db.sessions() as s:
        account = points.account_of_household(s, "360802", market["household"])
        assert s.scalar(select(func.count()).select_from(Redemption)
                        .where(Redemption.account_id == account.id)) == 1
        assert points.ledger_balance(s, account) == 60 - cost
        assert s.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.account_id == account.id,
                                                                   PointsEntry.kind == "spend")) == -cost
        assert s.scalar(select(func.sum(StockEntry.quantity)).where(
            StockEntry.supermarket_id == market["id"], StockEntry.item_id == oil)) == oil_left
