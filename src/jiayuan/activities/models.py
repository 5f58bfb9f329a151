"""Tables of community activities: events with organizer, place, time and capacity; series (a district art
festival); registrations with a waitlist; QR check-in and attendance."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

ACTIVITY_KINDS = ("culture", "sports", "festival", "lecture", "volunteer", "other")
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled", "attended")


class Series(Tenant, Timestamped, Base):
    """A run of activities under one name, e.g. the district art festival (文化艺术节)."""

    __tablename__ = "activity_series"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("district_code", "unit_code", "name"),)


class Activity(Tenant, Timestamped, Base):
    """A community event: a show, a match, a festival evening, a health lecture."""

    __tablename__ = "activities"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the community, street or district holding it
    series_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    organizer: Mapped[str] = mapped_column(String(120))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a registry organization, if it runs it
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    volunteer_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # The secret in the QR code shown at the door; scanning it with one's account checks one in.
    checkin_token: Mapped[str] = mapped_column(String(40))
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        tenant_fk(["series_id"], "activity_series"),
        tenant_fk(["organization_id"], "organizations"),
        UniqueConstraint("district_code", "checkin_token"),
        Index("ix_activities_district_code_unit_code_starts_at", "district_code", "unit_code", "starts_at"),
    )


class Registration(Tenant, Base):
    """A resident's place at an activity (or on its waitlist), by themself or by staff for them."""

    __tablename__ = "activity_registrations"

    activity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a resident's account
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # or a registry person registered by staff
    name: Mapped[str] = mapped_column(String(60))  # as shown on the attendance list
    status: Mapped[str] = mapped_column(String(12))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        tenant_fk(["activity_id"], "activities", ondelete="CASCADE"),
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "activity_id", "user_id"),
        UniqueConstraint("district_code", "activity_id", "person_id"),
        Index("ix_activity_registrations_district_code_activity_id_status", "district_code", "activity_id",
              "status"),
    )
