"""Shared steps of the order tests: providers with items, areas, hours and staff accounts made by inserting rows
(not through the providers module, which has its own tests), orders placed through the API, actions."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import create_user, hash_password, principal_of
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import utcnow
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.service import Viewer
from jiayuan.services.providers.models import Provider, ProviderArea, ProviderItem, ProviderStaff
from tests.cases.helpers import point_in
from tests.conftest import ApiUser
from tests.personas import GRID_A, PERSONAS, Persona

DISTRICT = "360802"
ALL_DAY = None  # round the clock
_serial = itertools.count(1)
_HASH: list[str] = []


def _password_hash() -> str:
    if not _HASH:  # Argon2 is slow on purpose: one hash for every staff account of the run
        _HASH.append(hash_password(DEMO_PASSWORD))
    return _HASH[0]


def quiet_other_providers(session: Session) -> None:
    """Suspend every provider already in the database and withdraw every pending offer (the demo may bring
    some), inside the test's transaction: the candidates are then only those the test makes, and the sweep
    only sees the test's offers."""
    session.execute(update(Provider).values(status="suspended"))
    session.execute(update(OrderOffer).where(OrderOffer.status.in_(("pending", "queued"))).values(status="withdrawn"))
    session.flush()


def make_provider(session: Session, name: str, *, items: dict[str, int | None] | None = None,
                  areas: tuple[str, ...] = (GRID_A,), hours: dict[str, Any] | None = ALL_DAY,
                  status: str = "active", staff: int = 0) -> Provider:
    """A provider offering `items` (code → price in fen) in `areas`, round the clock unless `hours` is given."""
    n = next(_serial)
    provider = Provider(district_code=DISTRICT, unit_code=DISTRICT, name=name,
                        credit_code=f"9136{uuid.uuid4().hex[:14].upper()}", status=status,
                        round_the_clock=hours is None, weekly_hours=hours, service_phone=f"0796-82{n:05d}")
    session.add(provider)
    session.flush()
    for code, price in (items if items is not None else {"0201": 8000}).items():
        session.add(ProviderItem(district_code=DISTRICT, provider_id=provider.id, item_code=code, price_fen=price))
    for unit in areas:
        session.add(ProviderArea(district_code=DISTRICT, provider_id=provider.id, unit_code=unit))
    session.flush()
    for _ in range(staff):
        make_staff(session, provider)
    return provider


def make_staff(session: Session, provider: Provider, username: str | None = None) -> User:
    """A staff account (role provider) of `provider`, with the demo password."""
    username = username or f"pv{uuid.uuid4().hex[:10]}"
    user = create_user(session, username=username, full_name=f"{provider.name}师傅", role="provider",
                       scope_code=DISTRICT, password_hash=_password_hash())
    session.add(ProviderStaff(district_code=DISTRICT, provider_id=provider.id, user_id=user.id))
    session.flush()
    return user


def staff_of(session: Session, provider: Provider) -> list[User]:
    return list(session.scalars(select(User).join(ProviderStaff, ProviderStaff.user_id == User.id)
                                .where(ProviderStaff.provider_id == provider.id).order_by(User.username)))


def as_user(client: Any, user: User) -> ApiUser:
    """The API as any account (with the demo password)."""
    return ApiUser(client, Persona(user.username, user.role, user.scope_code))


def viewer(session: Session, username: str) -> Viewer:
    from jiayuan.services.orders.service import viewer_of

    user = session.scalar(select(User).where(User.username == username))
    return viewer_of(session, principal_of(user))


def window(hours_ahead: float = 2, length: float = 2, *, now: datetime | None = None) -> dict[str, str]:
    start = (now or utcnow()) + timedelta(hours=hours_ahead)
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=length)).isoformat()}


def place(api: Any, who: str = "resident", item: str = "0201", grid: str = GRID_A, expect: int = 201,
          headers: dict | None = None, **extra: Any) -> dict:
    """An order placed through the API, by a resident (a point in `grid`) or the hotline (the grid itself)."""
    body: dict[str, Any] = {"item": item, "address": "文山路 12 号 3 栋 401", **window(), "notes": "厨房水管漏水"}
    if who == "hotline":
        body.update(unit_code=grid, contact_name="刘阿姨", contact_phone="13911112222")
    else:
        lat, lon = point_in(api, grid)
        body.update(lat=lat, lon=lon)
    body.update(extra)
    r = api(who).post("/api/v1/services/orders", json=body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def act(user: Any, number: str, action: str, expect: int = 200, **body: Any) -> dict:
    r = user.post(f"/api/v1/services/orders/{number}/actions/{action}", json=body)
    assert r.status_code == expect, f"{action}: {r.status_code} {r.text}"
    return r.json()


def rated_history(session: Session, provider: Provider, ratings: list[int], *, days_ago: float = 3,
                  status: str = "completed") -> None:
    """Past orders of `provider` rated `ratings` (its mean rating), or held now (its load) with no rating."""
    when = utcnow() - timedelta(days=days_ago)
    for rating in ratings or [None]:
        session.add(ServiceOrder(
            district_code=DISTRICT, number=f"S{uuid.uuid4().int % 10**11:011d}", item_code="0201",
            channel="resident", status=status, unit_code=GRID_A, address="旧订单", window_start=when,
            window_end=when + timedelta(hours=1), provider_id=provider.id, rating=rating,
            rated_at=when if rating else None, created_at=when))
    session.flush()


def hold(session: Session, provider: Provider, n: int = 1) -> None:
    """`provider` holds `n` accepted orders now (its load)."""
    for _ in range(n):
        rated_history(session, provider, [], status="accepted", days_ago=0)


def resident_id(session: Session) -> uuid.UUID:
    return session.scalar(select(User.id).where(User.username == PERSONAS["resident"].username))
