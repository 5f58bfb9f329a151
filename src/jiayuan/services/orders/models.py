"""Tables of service orders of the 12343 hotline, their offers to providers and their events.

Money is kept in fen (分), never in floats.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

# Fixed vocabularies (the pages translate them).
ORDER_STATUSES = ("offered", "unassigned", "accepted", "in_service", "completed", "cancelled")
OFFER_STATUSES = ("queued", "pending", "accepted", "declined", "expired", "withdrawn")
ORDER_CHANNELS = ("resident", "hotline")


class ServiceOrder(Tenant, Timestamped, Base):
    """An order of a catalogue item for an address and a time window, from a resident or a 12343 operator."""

    __tablename__ = "service_orders"
    __scope_column__ = "unit_code"

    number: Mapped[str] = mapped_column(String(20))
    item_code: Mapped[str] = mapped_column(String(4), ForeignKey("service_items.code"))
    channel: Mapped[str] = mapped_column(String(10))  # resident | hotline
    status: Mapped[str] = mapped_column(String(12))
    unit_code: Mapped[str] = mapped_column(CodeString)  # the grid of the address (else its community)
    address: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the resident's account that ordered
    operator_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the 12343 operator who took the call
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(Encrypted("service_orders.contact_phone", 200))
    contact_phone_index: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the provider that accepted
    price_fen: Mapped[int | None] = mapped_column(Integer)
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(10))  # resident | provider | operator
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    rating: Mapped[int | None] = mapped_column(Integer)  # 1–5
    rating_comment: Mapped[str | None] = mapped_column(String(500))
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    complaint_case: Mapped[str | None] = mapped_column(String(20))  # the number of the case it opened
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    # A digest of the request made under the idempotency key: the same key with another request is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("district_code", "number"),
        UniqueConstraint("district_code", "idempotency_key"),
        tenant_fk(["provider_id"], "providers"),
        Index("ix_service_orders_district_code_unit_code_status", "district_code", "unit_code", "status"),
        Index("ix_service_orders_district_code_provider_id_status", "district_code", "provider_id", "status"),
        Index("ix_service_orders_district_code_created_at", "district_code", "created_at"),
        Index("ix_service_orders_resident_id", "resident_id"),
        Index("ix_service_orders_number", "number"),
    )


class OrderOffer(Tenant, Base):
    """An order offered to one provider, who must answer before the deadline; else the next is asked."""

    __tablename__ = "service_order_offers"

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rank: Mapped[int] = mapped_column(Integer)  # 1 = the best candidate
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: a candidate not asked yet
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        tenant_fk(["order_id"], "service_orders", ondelete="CASCADE"),
        tenant_fk(["provider_id"], "providers"),
        UniqueConstraint("district_code", "order_id", "provider_id"),
        Index("ix_service_order_offers_district_code_provider_id_status", "district_code", "provider_id",
              "status"),
        # The sweep's question across districts: which offers are past their deadline?
        Index("ix_service_order_offers_status_deadline_at", "status", "deadline_at"),
    )


class OrderEvent(Tenant, Base):
    """One step of an order's timeline."""

    __tablename__ = "service_order_events"

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        tenant_fk(["order_id"], "service_orders", ondelete="CASCADE"),
        Index("ix_service_order_events_district_code_order_id_at", "district_code", "order_id", "at"),
    )
