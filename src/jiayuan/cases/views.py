"""Cases as the API and the pages show them: names resolved, phones masked, what the caller may do next."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.cases import calendar, policy, service, timing
from jiayuan.cases.models import Case, CasePhoto, Category
from jiayuan.cases.photos import save_photos
from jiayuan.cases.workflow import OPEN, allowed_actions
from jiayuan.config import Settings
from jiayuan.kit.db import utcnow
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.storage import remove_if_rolled_back, storage_from_settings


def category_names(session: Session) -> dict[str, Category]:
    return {c.code: c for c in session.query(Category).all()}


def present(session: Session, case: Case, principal: Principal | None, *, categories: dict[str, Category] | None = None,
            users: dict[Any, Any] | None = None, locale: str = "zh_CN",
            cal: calendar.WorkCalendar | None = None) -> dict[str, Any]:
    """One case as a dict of CaseRead's fields."""
    # One case alone (an intake's answer, a case page) takes its category and assignee by primary key: the
    # identity map usually holds the category already, and a list passes both in (present_many).
    category = (categories or {}).get(case.category_code) or session.get(Category, case.category_code)
    if users is None:
        assignee = accounts.user_by_id(session, case.assignee_id) if case.assignee_id else None
    else:
        assignee = users.get(case.assignee_id)
    now = utcnow()
    merged = None
    if case.merged_into_id:
        original = session.get(Case, (case.district_code, case.merged_into_id))
        merged = original.number if original else None
    return {
        "number": case.number, "status": case.status, "category": case.category_code,
        "category_name": (category.name_zh if locale == "zh_CN" else category.name_en) if category else "",
        "description": case.description, "channel": case.channel, "address": case.address,
        "lat": case.lat, "lon": case.lon, "origin_code": case.origin_code, "unit_code": case.unit_code,
        "grid_code": case.grid_code, "level": case.level, "department": case.department,
        "assignee": assignee.username if assignee else None,
        "assignee_name": assignee.full_name if assignee else None,
        "urgent": case.urgent, "supervision": case.supervision,
        "reporter_name": case.reporter_name, "reporter_phone": mask_phone(case.reporter_phone) if case.reporter_phone
        else None,
        "reported_at": case.reported_at, "accepted_at": case.accepted_at, "dispatched_at": case.dispatched_at,
        "handled_at": case.handled_at, "closed_at": case.closed_at, "stage_due_at": case.stage_due_at,
        "due_at": case.due_at,
        "light": timing.light(session, case.stage_started_at, case.stage_due_at, now, urgent=case.urgent, cal=cal)
        if case.status in OPEN and case.stage_due_at else None,
        "rework_count": case.rework_count, "rating": case.rating, "version": case.version,
        "actions": allowed_actions(case.status, principal.role) if principal else [],
        "merged_into": merged, "extension_requested_hours": case.extension_requested_hours,
        "suspension_requested": case.suspension_requested, "thing_id": case.thing_id,
    }


def present_many(session: Session, cases: list[Case], principal: Principal, locale: str = "zh_CN") -> list[dict]:
    categories = category_names(session)
    users = accounts.users_by_ids(session, list({c.assignee_id for c in cases if c.assignee_id}))
    cal = calendar.calendar_for(session)
    return [present(session, c, principal, categories=categories, users=users, locale=locale, cal=cal)
            for c in cases]


def photo_urls(session: Session, case: Case) -> list[dict[str, Any]]:
    return [{"id": str(p.id), "url": f"/api/v1/cases/{case.number}/photos/{p.id}",
             "thumbnail_url": f"/api/v1/cases/{case.number}/photos/{p.id}?thumb=1", "width": p.width,
             "height": p.height} for p in service.photos_of(session, case)]


def attach_photos(session: Session, settings: Settings, case: Case, photos: list[bytes],
                  event_id: Any = None) -> None:
    """Store photos of a case and record them; if the transaction does not commit, the files go again."""
    if not photos:
        return
    storage = storage_from_settings(settings)
    existing = len(service.photos_of(session, case)) if event_id is None else 0
    saved = save_photos(storage, case.district_code, case.id, photos, settings.max_photo_bytes,
                        max(settings.max_photos - existing, 0) if event_id is None else settings.max_photos)
    # The files go again if the rows do not stay: the savepoint (a page's attempt) or the request rolled back.
    remove_if_rolled_back(session, storage, [k for photo in saved for k in (photo["key"], photo["thumb_key"])])
    session.add_all(CasePhoto(district_code=case.district_code, case_id=case.id, event_id=event_id, **p)
                    for p in saved)
    session.flush()


TODO_LIMIT = 300


# The handler's to-do: what waits for them first, then the rest of what is open in their grids.


def todo(session: Session, principal: Principal, locale: str = "zh_CN") -> tuple[list[dict], list[dict]]:
    """(cases waiting for the caller's next step, other open cases they can see), each sorted by due time."""
    rows, _total = service.list_cases(session, principal, service.CaseFilter(status="open"), limit=TODO_LIMIT)
    mine, others = [], []
    for case, view in zip(rows, present_many(session, rows, principal, locale), strict=True):
        view["next"] = [a for a in policy.offered_actions(principal, case, view) if a in policy.PRIMARY]
        (mine if view["next"] else others).append(view)
    return mine, others


def todo_count(session: Session, principal: Principal) -> int:
    """How many cases wait for the caller's next step (the number on the home page's tile)."""
    return len(todo(session, principal)[0])
