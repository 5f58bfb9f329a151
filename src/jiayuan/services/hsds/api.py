"""The Open Referral HSDS 3.0 feed of the service directory, without sign-in: the paths, parameters and paging of
the HSDS OpenAPI under /hsds (the documents are built by ``services.hsds``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from jiayuan.deps import ReadSession
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.pagination import Page, search_query
from jiayuan.services.hsds import service as hsds

router = APIRouter(prefix="/hsds", tags=["hsds"])

PerPage = Annotated[int, Query(ge=1, le=hsds.MAX_PER_PAGE, description="Number of results in a single page.")]
Search = Annotated[str | None, search_query("Words in the name.")]
Full = Annotated[bool, Query(description="Fully nested objects instead of their one-to-one fields.")]
Format = Annotated[str, Query(description="Only `json` is served.")]


def _ok(doc: dict[str, Any]) -> JSONResponse:
    return JSONResponse(doc, media_type="application/json")


def _not_found(what: str, value: str) -> JSONResponse:
    # The HSDS OpenAPI defines no error body; this is the platform's own JSON error.
    return JSONResponse({"error": "not_found", "message": f"no {what} with id {value!r}"}, status_code=404)


def _unsupported(fmt: str) -> JSONResponse | None:
    """The spec's `format` may ask for ndjson; only json is served."""
    if fmt == "json":
        return None
    return JSONResponse({"error": "invalid", "message": "format: only json is served", "field": "format"},
                        status_code=422)


def _local(moment: datetime | None) -> datetime | None:
    """modified_after without an offset is local time."""
    return moment.replace(tzinfo=TIMEZONE) if moment is not None and moment.tzinfo is None else moment


@router.get("/", summary="Information about this API and its relation to HSDS")
def meta(request: Request) -> JSONResponse:
    return _ok({"version": hsds.HSDS_VERSION, "openapi_url": str(request.url_for("openapi"))})


@router.get("/services", summary="Paginated services with their one-to-one fields")
def services(session: ReadSession, page: Page = 1, per_page: PerPage = hsds.PER_PAGE, search: Search = None,
             organization_id: uuid.UUID | None = None, modified_after: datetime | None = None, full: Full = False,
             format: Format = "json") -> JSONResponse:
    if (refused := _unsupported(format)) is not None:
        return refused
    return _ok(hsds.list_services(session, page=page, per_page=per_page, search=search,
                                  organization_id=organization_id, modified_after=_local(modified_after),
                                  full=full))


@router.get("/services/{id}", summary="A fully nested service")
def service(id: str, session: ReadSession) -> JSONResponse:
    doc = hsds.get_service(session, id)
    return _ok(doc) if doc is not None else _not_found("service", id)


@router.get("/organizations", summary="Paginated organizations")
def organizations(session: ReadSession, page: Page = 1, per_page: PerPage = hsds.PER_PAGE, search: Search = None,
                  full: Full = False, full_service: bool = False, format: Format = "json",
                  ) -> JSONResponse:
    if (refused := _unsupported(format)) is not None:
        return refused
    return _ok(hsds.list_organizations(session, page=page, per_page=per_page, search=search, full=full,
                                       full_service=full_service))


@router.get("/organizations/{id}", summary="A fully nested organization")
def organization(id: str, session: ReadSession, full_service: bool = False) -> JSONResponse:
    doc = hsds.get_organization(session, id, full_service=full_service)
    return _ok(doc) if doc is not None else _not_found("organization", id)


@router.get("/service_at_locations", summary="Paginated services at their locations")
def service_at_locations(session: ReadSession, page: Page = 1, per_page: PerPage = hsds.PER_PAGE,
                         search: Search = None, organization_id: uuid.UUID | None = None,
                         modified_after: datetime | None = None, full: Full = False,
                         format: Format = "json") -> JSONResponse:
    if (refused := _unsupported(format)) is not None:
        return refused
    return _ok(hsds.list_service_at_locations(session, page=page, per_page=per_page, search=search,
                                              organization_id=organization_id,
                                              modified_after=_local(modified_after), full=full))


@router.get("/service_at_locations/{id}", summary="A fully nested service at a location")
def service_at_location(id: str, session: ReadSession) -> JSONResponse:
    doc = hsds.get_service_at_location(session, id)
    return _ok(doc) if doc is not None else _not_found("service_at_location", id)
