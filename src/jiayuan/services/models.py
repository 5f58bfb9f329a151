"""Tables of services (新服务): the 8+X service centres, the service catalogue, member providers (加盟企业),
service orders of the 12343 hotline with their offers to providers, special service projects and produce points.

Money is kept in fen (分, integer hundredths of a yuan), never in floats. Opening hours are JSON of the shape
{"1": [["08:30", "12:00"], ["14:00", "17:30"]], …, "7": []}: ISO weekday (1 = Monday) → local-time intervals.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, CodeString, Reference, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

# Fixed vocabularies (the pages translate them).
PROVIDER_STATUSES = ("applied", "approved", "active", "suspended", "withdrawn")
ORDER_STATUSES = ("offered", "unassigned", "accepted", "in_service", "completed", "cancelled")
OFFER_STATUSES = ("queued", "pending", "accepted", "declined", "expired", "withdrawn")
ORDER_CHANNELS = ("resident", "hotline")


# --- Reference: centre kinds and the service catalogue ------------------------------------------------


class CentreKind(Reference, Base):
    """A kind of service centre: the 8 standard kinds every street runs, and local "X" kinds."""

    __tablename__ = "service_centre_kinds"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    standard: Mapped[bool] = mapped_column(Boolean, default=False)  # one of the 8; False for an X kind
    sort: Mapped[int] = mapped_column(Integer, default=0)


class ServiceItem(Reference, Timestamped, Base):
    """An entry of the two-level service catalogue (服务项目): 2-digit groups, 4-digit items."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(100))
    unit_zh: Mapped[str | None] = mapped_column(String(10))  # 次, 小时, 份, 平方米 …
    unit_en: Mapped[str | None] = mapped_column(String(20))
    price_min_fen: Mapped[int | None] = mapped_column(Integer)
    price_max_fen: Mapped[int | None] = mapped_column(Integer)
    # Free or low-cost public-welfare service (公益服务), priced at most price_max_fen.
    public_welfare: Mapped[bool] = mapped_column(Boolean, default=False)
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[str | None] = mapped_column(String(40))  # when not round the clock, e.g. "08:00-20:00"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)


# --- Service centres ------------------------------------------------------------------------------------


class ServiceCentre(Tenant, Timestamped, Base):
    """A service centre or site of a street (or of a community under it)."""

    __tablename__ = "service_centres"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the street (or community) it serves
    kind_code: Mapped[str] = mapped_column(String(24), ForeignKey("service_centre_kinds.code"))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int | None] = mapped_column(Integer)
    facilities: Mapped[list[str] | None] = mapped_column(JSON)
    contact_name: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(30))  # the centre's public line, not a person's
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("district_code", "unit_code", "name"),
        Index("ix_service_centres_district_code_kind_code", "district_code", "kind_code"),
    )


class CentreException(Tenant, Base):
    """A day a centre keeps other hours than its week says: a holiday closure, or special hours."""

    __tablename__ = "service_centre_exceptions"

    centre_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    hours: Mapped[list[list[str]] | None] = mapped_column(JSON)  # the day's intervals when not closed
    note: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        tenant_fk(["centre_id"], "service_centres", ondelete="CASCADE"),
        UniqueConstraint("district_code", "centre_id", "day"),
    )


class CentreOpening(Tenant, Base):
    """A day a centre was actually open, as recorded by its staff: what "open as required" is judged on."""

    __tablename__ = "service_centre_openings"

    centre_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    day: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["centre_id"], "service_centres", ondelete="CASCADE"),
        UniqueConstraint("district_code", "centre_id", "day"),
    )


class CentreSubsidy(Tenant, Base):
    """A year's operating subsidy granted to a centre (the source document: 100,000 yuan a year each)."""

    __tablename__ = "service_centre_subsidies"

    centre_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    granted_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))
    granted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["centre_id"], "service_centres", ondelete="CASCADE"),
        UniqueConstraint("district_code", "centre_id", "year"),
    )


# --- Member providers -----------------------------------------------------------------------------------


class Provider(Tenant, Timestamped, Base):
    """A member enterprise (加盟企业) of the 12343 hotline, from application to withdrawal."""

    __tablename__ = "providers"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the unit that admitted it (the district)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the registry's record of it, if any
    status: Mapped[str] = mapped_column(String(12), default="applied")
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(Encrypted("providers.contact_phone", 200))
    service_phone: Mapped[str | None] = mapped_column(String(30))  # the public line residents may call
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    # Set when its mean rating falls under the threshold: the district decides whether to suspend.
    flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("district_code", "credit_code"),
        tenant_fk(["organization_id"], "organizations"),
        Index("ix_providers_district_code_status", "district_code", "status"),
    )


class ProviderArea(Tenant, Base):
    """A unit a provider serves: a grid, community, street or the whole district."""

    __tablename__ = "provider_areas"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit_code: Mapped[str] = mapped_column(CodeString)

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "provider_id", "unit_code"),
        Index("ix_provider_areas_district_code_unit_code", "district_code", "unit_code"),
    )


class ProviderItem(Tenant, Base):
    """An item of the catalogue a provider offers, at its own price."""

    __tablename__ = "provider_items"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_code: Mapped[str] = mapped_column(String(4), ForeignKey("service_items.code"))
    price_fen: Mapped[int | None] = mapped_column(Integer)  # None: quoted on site
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "provider_id", "item_code"),
        Index("ix_provider_items_district_code_item_code", "district_code", "item_code"),
    )


class ProviderStaff(Tenant, Base):
    """A staff account (role provider) of a provider: sees and answers its orders."""

    __tablename__ = "provider_staff"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        UniqueConstraint("district_code", "user_id"),
    )


class ProviderEvent(Tenant, Base):
    """One step of a provider's status, by district staff with a reason."""

    __tablename__ = "provider_events"

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_name: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        tenant_fk(["provider_id"], "providers", ondelete="CASCADE"),
        Index("ix_provider_events_district_code_provider_id_at", "district_code", "provider_id", "at"),
    )


# --- Orders ---------------------------------------------------------------------------------------------


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


# --- Special service projects and produce points ---------------------------------------------------------


class ServiceProject(Tenant, Timestamped, Base):
    """A special service project (特色服务项目) run by an organization for a target group."""

    __tablename__ = "service_projects"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # where it runs: district, street or community
    name: Mapped[str] = mapped_column(String(120))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the registry organization running it
    description: Mapped[str | None] = mapped_column(Text)
    target_tags: Mapped[list[str] | None] = mapped_column(JSON)  # registry tags of the people it serves
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        tenant_fk(["organization_id"], "organizations"),
        UniqueConstraint("district_code", "unit_code", "name"),
    )


class ProjectBeneficiary(Tenant, Base):
    """A registry person a project serves."""

    __tablename__ = "service_project_beneficiaries"

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    enrolled_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        tenant_fk(["project_id"], "service_projects", ondelete="CASCADE"),
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "project_id", "person_id"),
    )


class ProjectActivity(Tenant, Base):
    """Something a project did: a home visit, a class, a trip home for someone who was lost."""

    __tablename__ = "service_project_activities"

    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(120))
    participants: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["project_id"], "service_projects", ondelete="CASCADE"),
        Index("ix_service_project_activities_district_code_project_id_held_on", "district_code", "project_id",
              "held_on"),
    )


class ProducePoint(Tenant, Timestamped, Base):
    """A farm-to-community produce point (农超对接): where and when farmers sell in the community."""

    __tablename__ = "produce_points"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the community (or grid) it stands in
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    supplier: Mapped[str | None] = mapped_column(String(120))
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "unit_code", "name"),)
