"""Tables of volunteers (七彩义工): the seven teams, volunteer profiles linked to registry people, opportunities with
sign-up, waitlist and check-in, the append-only hours ledger, and honours at hour thresholds.

Hours are kept in whole minutes. The ledger is append-only: every credit and debit is a row; a balance is a sum,
never a stored number of its own.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Reference, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

SIGNUP_STATUSES = ("signed_up", "waitlisted", "cancelled", "checked_in", "checked_out", "no_show")
LEDGER_KINDS = ("service", "activity", "adjustment", "conversion")  # conversion: hours turned into points


class Team(Reference, Base):
    """One of the seven colours (七彩), each a speciality."""

    __tablename__ = "volunteer_teams"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)  # red, orange, yellow, green, cyan, blue, purple
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    colour: Mapped[str] = mapped_column(String(7))  # #RRGGBB for the badge
    speciality_zh: Mapped[str] = mapped_column(String(60))
    speciality_en: Mapped[str] = mapped_column(String(100))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Volunteer(Tenant, Timestamped, Base):
    """A volunteer: a registry person, in a team, with skills and availability; may sign in (role volunteer)."""

    __tablename__ = "volunteers"
    __scope_column__ = "unit_code"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    unit_code: Mapped[str] = mapped_column(CodeString)  # where they serve: a community or grid
    team_code: Mapped[str | None] = mapped_column(String(12))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    skills: Mapped[list[str] | None] = mapped_column(JSON)
    # Weekly availability in the same shape as opening hours: {"6": [["08:00", "12:00"]], …}
    availability: Mapped[dict | None] = mapped_column(JSON)
    joined_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        tenant_fk(["person_id"], "people"),
        UniqueConstraint("district_code", "person_id"),
        UniqueConstraint("district_code", "user_id"),
        Index("ix_volunteers_district_code_unit_code", "district_code", "unit_code"),
    )


class Opportunity(Tenant, Timestamped, Base):
    """Something volunteers are wanted for: what, where, when, how many."""

    __tablename__ = "volunteer_opportunities"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(200))
    team_code: Mapped[str | None] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    slots: Mapped[int] = mapped_column(Integer)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the community activity it staffs, if any
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        Index("ix_volunteer_opportunities_district_code_unit_code_starts_at", "district_code", "unit_code",
              "starts_at"),
    )


class Signup(Tenant, Base):
    """A volunteer's sign-up for an opportunity: in a slot or on the waitlist, then checked in and out."""

    __tablename__ = "volunteer_signups"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    volunteer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(12))
    signed_up_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        tenant_fk(["opportunity_id"], "volunteer_opportunities", ondelete="CASCADE"),
        tenant_fk(["volunteer_id"], "volunteers"),
        UniqueConstraint("district_code", "opportunity_id", "volunteer_id"),
    )


class HoursEntry(Tenant, Base):
    """One credit (+) or debit (−) of a volunteer's hours, in minutes, with where it came from. Never updated."""

    __tablename__ = "volunteer_hours"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    minutes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    # What it is for, e.g. ("signup", id), ("visit", id), ("activity", id); unique so that a retry credits once.
    source_type: Mapped[str | None] = mapped_column(String(20))
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(200))
    entered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["volunteer_id"], "volunteers"),
        Index("uq_volunteer_hours_source", "district_code", "volunteer_id", "source_type", "source_id",
              unique=True, sqlite_where=text("source_id IS NOT NULL"),
              postgresql_where=text("source_id IS NOT NULL")),
        Index("ix_volunteer_hours_district_code_volunteer_id_at", "district_code", "volunteer_id", "at"),
    )


class Honour(Tenant, Base):
    """A certificate or honour earned at an hours threshold (e.g. 100, 300, 600, 1000, 1500 hours)."""

    __tablename__ = "volunteer_honours"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    threshold_hours: Mapped[int] = mapped_column(Integer)
    awarded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    certificate_no: Mapped[str] = mapped_column(String(30))

    __table_args__ = (
        tenant_fk(["volunteer_id"], "volunteers"),
        UniqueConstraint("district_code", "volunteer_id", "threshold_hours"),
        UniqueConstraint("district_code", "certificate_no"),
    )
