"""JSON routes of service orders (12343): place, list, read, and the actions of the life cycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip
from jiayuan.kit.pagination import Offset, search_query
from jiayuan.services.orders import actions as order_actions
from jiayuan.services.orders import intake as ordering
from jiayuan.services.orders.offers import rules_from
from jiayuan.services.orders.schemas import OrderAction, OrderCreate, OrderCreated, OrderDetail, OrderList
from jiayuan.services.orders.service import OrderFilter, get_order, list_orders, viewer_of
from jiayuan.services.orders.views import audit_unmasked, present, present_many
from jiayuan.web import request_locale

router = APIRouter(prefix="/api/v1/services/orders", tags=["service orders"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="retry-safe POST")]


@router.post("", response_model=OrderCreated, status_code=201)
def create(body: OrderCreate, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
           response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Order a catalogue item for a place and a time window (a resident for themself, a 12343 operator for a
    caller). It is offered to the best candidate at once; with no candidate it is `unassigned` (201 all the
    same) and the district's operators are alerted. Repeating the POST with the same Idempotency-Key returns
    the same order (200)."""
    viewer = viewer_of(session, principal)
    placed = ordering.create_order(session, viewer, ordering.OrderInput(**body.model_dump()),
                                   rules=rules_from(settings), idempotency_key=idempotency_key)
    if placed.replayed:
        response.status_code = 200
    return {**present(session, viewer, placed.order, detail=True), "replayed": placed.replayed,
            "candidates": placed.candidates}


@router.get("", response_model=OrderList)
def index(request: Request, principal: CurrentPrincipal, session: DbSession,
          status: Annotated[str | None, Query(description="a status, or open")] = None,
          item: Annotated[str | None, Query(description="an item code or a 2-digit group")] = None,
          q: Annotated[str | None, search_query("an order number")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0) -> Any:
    """A resident's own orders; an operator's or staff's in their scope; a provider's offers waiting for it and
    the orders it holds. Newest first."""
    viewer = viewer_of(session, principal)
    rows, total = list_orders(session, viewer, OrderFilter(status=status, item=item, q=q), limit=limit,
                              offset=offset)
    views = present_many(session, viewer, rows, request_locale(request))
    audit_unmasked(session, viewer, views, "/api/v1/services/orders", client_ip(request))
    return {"total": total, "items": views}


@router.get("/{number}", response_model=OrderDetail)
def read(number: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Any:
    viewer = viewer_of(session, principal)
    view = present(session, viewer, get_order(session, viewer, number), request_locale(request), detail=True)
    audit_unmasked(session, viewer, [view], f"/api/v1/services/orders/{view['number']}", client_ip(request))
    return view


@router.post("/{number}/actions/{action}", response_model=OrderDetail)
def act(number: str, action: str, body: OrderAction, request: Request, principal: CurrentPrincipal,
        session: DbSession, settings: AppSettings) -> Any:
    """accept, decline (provider with the pending offer); start, complete (the provider holding it); cancel
    (resident, operator, or the holder, with a reason); rate (1–5 once, completed); complain (opens a case of
    category 2601); offer (an operator, an unassigned order, `provider_id`). 409 with the order's current status
    and version when the state does not allow it or someone else acted first; 403 when the caller may not."""
    viewer = viewer_of(session, principal)
    data = order_actions.ActionInput(note=body.note or body.reason, rating=body.rating, comment=body.comment,
                                     provider_id=body.provider_id, version=body.version)
    order = order_actions.act(session, viewer, number, action, data, rules=rules_from(settings))
    return read(order.number, request, principal, session)
