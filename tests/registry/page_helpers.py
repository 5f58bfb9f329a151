"""Helpers of the registry's page tests: a person registered through the API, a signed-in client, a form posted
as a browser posts it, and what a list page shows."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiayuan.accounts.models import AuditEntry
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.models import Person
from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, GRID_B, PERSONAS

PEOPLE = "/api/v1/registry/people"
R = "/api/v1/registry"
PHONE = "13812345678"
MASKED_PHONE = "*******5678"


def id_number(birth: str = "19800101", serial: str = "123") -> str:
    first17 = "360802" + birth + serial
    return first17 + id_check_char(first17)


ID = id_number()
MASKED_ID = ID[:2] + "*" * 15 + ID[-1:]


def login(client: TestClient, who: str) -> None:
    r = page_login(client, PERSONAS[who].username)
    assert r.status_code == 200, r.text


def new_person(api: Any, who: str = "grid_a", **fields: Any) -> dict[str, Any]:
    body = {"name": "张三丰", "grid_code": GRID_B if who == "grid_b" else GRID_A, "id_number": ID, "phone": PHONE,
            **fields}
    r = api(who).post(PEOPLE, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def post_form(client: TestClient, page: str, target: str, **data: str):  # noqa: ANN201
    """Post a form as a browser does: with the CSRF token of the page it sits on, following the redirect."""
    return client.post(target, data={"csrf_token": csrf_from(client.get(page).text), **data},
                       follow_redirects=True)


def total(html: str) -> int:
    m = re.search(r'data-total="(\d+)"', html)
    assert m, "no total on the list page"
    return int(m.group(1))


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'(?:href|action|src)="([^"]*)"', html)]


def audits(db: Any, action: str) -> list[AuditEntry]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def people_in(db: Any) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Person))
