"""Shapes of service orders in the API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from jiayuan.kit.numbers import Finite


class OrderCreate(BaseModel):
    item: str = Field(description="a 4-digit item code of the service catalogue")
    address: str = Field(description="where the service is needed, up to 200 characters")
    window_start: datetime = Field(description="when the service should start: in the future; without a zone, "
                                               "Beijing time")
    window_end: datetime = Field(description="by when it should end: after the start, within 30 days")
    lat: Finite | None = Field(default=None, description="the place, placed in its grid")
    lon: Finite | None = None
    crs: str = Field(default="wgs84", description="wgs84 or gcj02")
    unit_code: str | None = Field(default=None, description="12343 operators: the grid or community, when there "
                                                            "is no point")
    notes: str | None = Field(default=None, description="what the provider should know, up to 1,000 characters")
    contact_name: str | None = Field(default=None, description="required from an operator: the caller's name")
    contact_phone: str | None = Field(default=None, description="required from an operator: the caller's phone "
                                                                "(told by SMS)")


class ProviderBrief(BaseModel):
    id: str
    name: str
    service_phone: str | None


class MyOffer(BaseModel):
    status: str
    offered_at: datetime | None
    deadline_at: datetime | None


class OfferRead(BaseModel):
    provider_id: str
    provider_name: str
    rank: int
    score: float
    status: str
    offered_at: datetime | None
    deadline_at: datetime | None
    answered_at: datetime | None


class OrderEventRead(BaseModel):
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor_name: str
    actor_role: str
    note: str | None


class OrderRead(BaseModel):
    number: str
    status: str
    channel: str
    item: str
    item_name: str
    group_name: str
    price_unit: str | None
    unit_code: str
    place_name: str
    address: str | None = Field(description="null for a provider the order is not (or no longer) offered to")
    lat: float | None
    lon: float | None
    window_start: datetime
    window_end: datetime
    notes: str | None
    contact_name: str | None
    contact_phone: str | None = Field(description="masked, except for the resident who ordered and the provider "
                                                  "holding the order")
    provider: ProviderBrief | None = Field(description="the provider that accepted")
    price_fen: int | None = Field(description="the provider's price for the item, in fen")
    created_at: datetime
    offered_at: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    rating: int | None
    rating_comment: str | None
    rated_at: datetime | None
    complaint_case: str | None = Field(description="the tracking number of the complaint's case")
    version: int
    waiting_until: datetime | None = Field(description="the deadline of the offer waiting for an answer")
    waiting_for: str | None = Field(default=None, description="staff: the provider asked now")
    my_offer: MyOffer | None = Field(description="a provider: its own offer of the order")
    actions: list[str] = Field(description="what the caller may do now")


class OrderDetail(OrderRead):
    timeline: list[OrderEventRead]
    offers: list[OfferRead] = Field(description="operators and staff: every candidate, best first")


class OrderCreated(OrderDetail):
    replayed: bool = Field(description="true when an Idempotency-Key returned an order made earlier")
    candidates: int = Field(description="providers ranked for it; 0: unassigned, the hotline arranges one")


class OrderList(BaseModel):
    total: int
    items: list[OrderRead]


class OrderAction(BaseModel):
    note: str | None = Field(default=None, description="cancel, decline: the reason; complain: what went wrong")
    reason: str | None = Field(default=None, description="the same as note")
    rating: int | None = Field(default=None, description="rate: 1 to 5 stars")
    comment: str | None = Field(default=None, description="rate: a comment")
    provider_id: uuid.UUID | None = Field(default=None, description="offer: the provider an operator chose")
    version: int | None = Field(default=None, description="the version you saw; 409 if it moved")
