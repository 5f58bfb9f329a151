"""The public page of the service catalogue (服务项目): groups with their items, no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jiayuan.deps import DbSession, OptionalPrincipal
from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.present import base_context
from jiayuan.web import render

router = APIRouter(include_in_schema=False)


@router.get("/services/catalogue")
def public_catalogue(request: Request, session: DbSession, principal: OptionalPrincipal) -> Response:
    entries = catalogue.list_items(session)
    groups = [{"group": g, "items": [i for i in entries if i.parent_code == g.code]}
              for g in entries if g.parent_code is None]
    return render(request, "services/catalogue.html", {**base_context(request), "groups": groups})
