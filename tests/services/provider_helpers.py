"""Helpers of the provider tests: valid credit codes, a provider made through the API, orders and offers written
straight into their tables (independent of the order engine)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.kit.identity import credit_check_char, organization_check_char
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from tests.personas import GRID_A

P = "/api/v1/services/providers"
DISTRICT = "360802"
_serial = itertools.count(int(uuid.uuid4().int % 10_000_000))
WEEK = {"1": [["08:00", "12:00"], ["14:00", "18:00"]], "2": [["08:00", "18:00"]], "3": [], "4": [["08:00", "18:00"]],
        "5": [["08:00", "18:00"]], "6": [["09:00", "17:00"]], "7": []}


def credit_code(serial: int | None = None, region: str = DISTRICT) -> str:
    """A valid unified social credit code of an enterprise (91…) registered in `region`."""
    body = f"{(next(_serial) if serial is None else serial) % 100_000_000:08d}"
    first17 = "91" + region + body + organization_check_char(body)
    return first17 + credit_check_char(first17)


def application(**fields: Any) -> dict[str, Any]:
    return {"name": f"吉州便民家政{uuid.uuid4().hex[:6]}", "credit_code": credit_code(), "contact_name": "王经理",
            "contact_phone": "13807961234", "service_phone": "0796-8221234", "address": "吉州区文山路 8 号",
            "weekly_hours": WEEK, **fields}


def new_provider(api: Any, status: str = "applied", **fields: Any) -> dict[str, Any]:
    """A provider made by the district admin through the API, moved along the status table to `status`."""
    r = api("admin").post(P, json=application(**fields))
    assert r.status_code == 201, r.text
    provider = r.json()
    for step in PATHS[status]:
        r = api("admin").post(f"{P}/{provider['id']}/status", json={"to": step, "reason": f"测试：{step}"})
        assert r.status_code == 200, r.text
        provider = r.json()
    return provider


# How to reach each status from applied.
PATHS = {"applied": [], "approved": ["approved"], "active": ["approved", "active"],
         "suspended": ["approved", "active", "suspended"], "withdrawn": ["withdrawn"]}


def principal(session: Session, username: str) -> Principal:
    return principal_of(session.scalar(select(User).where(User.username == username)))


def order(session: Session, *, created: datetime, status: str = "offered", provider_id: uuid.UUID | None = None,
          rating: int | None = None, rated_at: datetime | None = None, complaint: str | None = None,
          cancelled_by: str | None = None, item: str = "0201") -> ServiceOrder:
    row = ServiceOrder(district_code=DISTRICT, number=f"T{uuid.uuid4().hex[:15].upper()}", item_code=item,
                       channel="hotline", status=status, unit_code=GRID_A, address="测试地址",
                       window_start=created + timedelta(hours=2), window_end=created + timedelta(hours=4),
                       provider_id=provider_id, rating=rating, rated_at=rated_at or (created if rating else None),
                       complaint_case=complaint, cancelled_by=cancelled_by,
                       cancelled_at=created + timedelta(hours=1) if status == "cancelled" else None,
                       created_at=created, updated_at=created)
    session.add(row)
    session.flush()
    return row


def offer(session: Session, o: ServiceOrder, provider_id: uuid.UUID, status: str, *, rank: int = 1,
          offered_at: datetime | None = None, minutes: float | None = None) -> OrderOffer:
    """An offer; `minutes` after it was made, it was answered (accepted, declined, or it expired)."""
    row = OrderOffer(district_code=DISTRICT, order_id=o.id, provider_id=provider_id, rank=rank, score=0.5,
                     status=status, offered_at=offered_at,
                     deadline_at=offered_at + timedelta(minutes=15) if offered_at else None,
                     answered_at=offered_at + timedelta(minutes=minutes) if offered_at and minutes is not None
                     else None)
    session.add(row)
    session.flush()
    return row


def put(user: Any, url: str, **kw: Any) -> Any:
    """PUT as a persona (the shared ApiUser has get, post and patch)."""
    return user.client.put(url, headers=user.headers, **kw)


def delete(user: Any, url: str) -> Any:
    return user.client.delete(url, headers=user.headers)
