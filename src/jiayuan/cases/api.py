"""JSON routes of cases: categories, intake, lists, the loop's actions, tracking and rating, photos."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import Response

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import actions, categories, intake, service, views
from jiayuan.cases.models import CasePhoto
from jiayuan.cases.schemas import (
    ActionBody,
    CaseCreate,
    CaseCreated,
    CaseDetail,
    CaseList,
    CategoryRead,
    CategoryUpdate,
    EventRead,
    PublicCase,
    TrackBody,
    TrackRate,
)
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip, require_role
from jiayuan.kit.bodies import PHOTOS, body_limit, read_prefix
from jiayuan.kit.errors import NotFound
from jiayuan.kit.pagination import Offset, search_query
from jiayuan.notify.limits import TextLimits
from jiayuan.kit.storage import storage_from_settings

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Admin = Annotated[Principal, Depends(require_role(Role.district_admin))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]


@router.get("/categories", response_model=list[CategoryRead])
def list_categories(session: DbSession, all: bool = False) -> Any:  # noqa: A002
    """The category tree (groups and their 4-digit items); `all=true` includes inactive ones."""
    return categories.list_categories(session, active_only=not all)


@router.patch("/categories/{code}", response_model=CategoryRead)
def update_category(code: str, body: CategoryUpdate, principal: Admin, session: DbSession) -> Any:
    return categories.update_category(session, code, body.model_dump(exclude_unset=True))


@router.post("", response_model=CaseCreated, status_code=201)
def report(body: CaseCreate, request: Request, principal: CurrentPrincipal, session: DbSession,
           settings: AppSettings, response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Report a case. Repeating the POST with the same Idempotency-Key returns the same case (200). A phone typed
    by a resident is texted within the day's limits per number and per address; past them, not at all."""
    result = intake.report_case(session, intake.CaseInput(**body.model_dump()), channel="api", actor=principal,
                                idempotency_key=idempotency_key, source=client_ip(request),
                                text_limits=TextLimits.of(settings))
    if result.replayed:
        response.status_code = 200
    categories = {result.category.code: result.category} if result.category is not None else None
    users = {result.assignee.id: result.assignee} if result.assignee is not None else None
    similar = intake.similar_for(session, result.case, principal)
    return {**views.present(session, result.case, principal, categories=categories, users=users),
            "replayed": result.replayed, "possible_duplicates": similar.numbers, "similar_reports": similar.count}


@router.get("", response_model=CaseList)
def list_cases(principal: CurrentPrincipal, session: DbSession,
               status: Annotated[str | None, Query(description="a status, or open / final")] = None,
               category: str | None = None, unit: str | None = None, mine: bool = False, overdue: bool = False,
               q: Annotated[str | None, search_query("a tracking number or words of the description")] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Offset = 0) -> Any:
    f = service.CaseFilter(status=status, category=category, unit=unit, overdue=overdue, q=q,
                           assignee=principal.user_id if mine else None)
    cases, total = service.list_cases(session, principal, f, limit=limit, offset=offset)
    return {"total": total, "items": views.present_many(session, cases, principal)}


TRACK_LIMITED = {429: {"description": "too many look-ups that found nothing from this address: wait "
                                       "details.retry_after seconds (Retry-After)"}}


@router.post("/track", response_model=PublicCase, responses=TRACK_LIMITED)
def track(body: TrackBody, request: Request, session: DbSession, settings: AppSettings) -> Any:
    """Follow a case by tracking number plus the phone it was reported with (in the body, never the URL). Look-ups
    that find nothing are limited per address and hour."""
    attempt = service.admit_tracking(session, client_ip(request), settings.track_misses_per_source_hour)
    case = service.track(session, body.number, body.phone)
    attempt.found(session)
    return public_view(session, case)


@router.post("/track/rate", response_model=PublicCase, responses=TRACK_LIMITED)
def rate_tracked(body: TrackRate, request: Request, session: DbSession, settings: AppSettings) -> Any:
    """Rate a closed case once, found by tracking number and phone; dissatisfied within 7 days reopens it."""
    attempt = service.admit_tracking(session, client_ip(request), settings.track_misses_per_source_hour)
    case = actions.rate_by_phone(session, body.number, body.phone, body.rating, body.comment)
    attempt.found(session)
    return public_view(session, case)


def public_view(session: DbSession, case: Any) -> dict[str, Any]:
    category = views.category_names(session).get(case.category_code)
    steps = [{"at": e.at, "action": e.action, "status": e.to_status, "reply": service.public_reply(e)}
             for e in service.timeline(session, case)]
    return {"number": case.number, "status": case.status, "category_name": category.name_zh if category else "",
            "reported_at": case.reported_at, "closed_at": case.closed_at, "rating": case.rating,
            "can_rate": case.status == "closed" and case.rating is None, "timeline": steps}


@router.get("/{number}", response_model=CaseDetail)
def get_case(number: str, principal: CurrentPrincipal, session: DbSession) -> Any:
    case = service.get_case(session, principal, number)
    return {**views.present(session, case, principal),
            "timeline": [EventRead.model_validate(e) for e in service.timeline(session, case)],
            "photos": views.photo_urls(session, case)}


@router.get("/{number}/duplicates", response_model=list[str])
def duplicates(number: str, principal: CurrentPrincipal, session: DbSession) -> Any:
    """Open cases of the same category within 50 m and 72 h that the caller may see: candidates to merge (a
    resident sees none but their own)."""
    return intake.similar_for(session, service.get_case(session, principal, number), principal).numbers


@router.post("/{number}/actions/{action}", response_model=CaseDetail)
def act(number: str, action: str, body: ActionBody, principal: CurrentPrincipal, session: DbSession) -> Any:
    """Move the case through its loop. 409 with the current status and version when the state does not allow
    the action (or someone else acted first); 403 when the caller's role or relation to the case does not."""
    case = actions.act(session, principal, number, action, actions.ActionInput(**body.model_dump()))
    return get_case(case.number, principal, session)


@router.post("/{number}/photos", response_model=CaseDetail)
@body_limit(PHOTOS)
def add_photos(number: str, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
               photos: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP")]) -> Any:
    case = service.get_case(session, principal, number)
    # A chunk at a time, one byte past the limit at most: the photo check refuses it naming the limit.
    views.attach_photos(session, settings, case, [read_prefix(p.file, settings.max_photo_bytes + 1) for p in photos])
    return get_case(number, principal, session)


@router.get("/{number}/photos/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
def photo(number: str, photo_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
          settings: AppSettings, thumb: bool = False) -> Response:
    case = service.get_case(session, principal, number)
    row = session.get(CasePhoto, (case.district_code, photo_id))
    if row is None or row.case_id != case.id:
        raise NotFound("no such photo", field="photo_id")
    data = storage_from_settings(settings).get(row.thumb_key if thumb else row.key)
    return Response(data, media_type="image/jpeg" if thumb else row.content_type,
                    headers={"Cache-Control": "private, max-age=86400"})
