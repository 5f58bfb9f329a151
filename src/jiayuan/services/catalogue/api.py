"""The JSON API of the service catalogue and the kinds of service centre, under /api/v1/services: public to read,
kinds added by the district."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.catalogue.schemas import CatalogueRead, KindCreate, KindRead

router = APIRouter(prefix="/api/v1/services", tags=["service catalogue"])


# The catalogue and the kinds of centre: public.


@router.get("/catalogue", response_model=CatalogueRead)
def get_catalogue(session: DbSession) -> Any:
    """The two-level service catalogue (服务项目): groups with their items, in display order."""
    entries = catalogue.list_items(session)
    groups = [{"code": g.code, "name_zh": g.name_zh, "name_en": g.name_en,
               "items": [i for i in entries if i.parent_code == g.code]}
              for g in entries if g.parent_code is None]
    return {"groups": groups}


@router.get("/centre-kinds", response_model=list[KindRead])
def list_kinds(session: DbSession) -> Any:
    return catalogue.list_centre_kinds(session)


@router.post("/centre-kinds", response_model=KindRead, status_code=201)
def add_kind(body: KindCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """A local "X" kind of centre (district admin)."""
    return catalogue.add_kind(session, principal, code=body.code, name_zh=body.name_zh, name_en=body.name_en)


