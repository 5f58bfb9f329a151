"""Tables of service centres (8+X 服务中心): the centres, their exceptions to the week, the days they opened and
their yearly subsidies.

Opening hours are JSON of the shape {"1": [["08:30", "12:00"], ["14:00", "17:30"]], …, "7": []}: ISO weekday
(1 = Monday) → local-time intervals. Money is kept in fen (分), never in floats.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk


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
